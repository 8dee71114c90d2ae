#!/usr/bin/env bash
# Waits until the Auto Scaling group's latest instance refresh has finished
# (an apply that changed the launch template starts one), then prints the
# group's desired capacity: the number of instances k6 must reach.
#
#   scripts/infra/wait-for-refresh.sh ASG_NAME
#   REFRESH_TIMEOUT_SECONDS (3600), REFRESH_POLL_SECONDS (20)
set -euo pipefail
log() { printf '[refresh] %s\n' "$*" >&2; }
asg="${1:?usage: wait-for-refresh.sh ASG_NAME}"
deadline=$(( $(date +%s) + ${REFRESH_TIMEOUT_SECONDS:-3600} ))

while :; do
  status="$(aws autoscaling describe-instance-refreshes --auto-scaling-group-name "$asg" --max-records 1 \
    --query 'InstanceRefreshes[0].Status' --output text)"
  case "$status" in
    None|Successful) break ;;
    Pending|InProgress|Baking|Cancelling|RollbackInProgress) log "$asg: instance refresh $status" ;;
    *) log "$asg: instance refresh ended $status"; exit 1 ;;
  esac
  (( $(date +%s) < deadline )) || { log "$asg: instance refresh still $status after ${REFRESH_TIMEOUT_SECONDS:-3600} s"; exit 1; }
  sleep "${REFRESH_POLL_SECONDS:-20}"
done

desired="$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$asg" \
  --query 'AutoScalingGroups[0].DesiredCapacity' --output text)"
[[ "$desired" =~ ^[1-9][0-9]*$ ]] || { log "$asg: unexpected desired capacity '$desired'"; exit 1; }
log "$asg: refresh done, desired capacity $desired"
echo "$desired"
