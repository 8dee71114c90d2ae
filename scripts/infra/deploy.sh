#!/usr/bin/env bash
# npm run deploy / npm run destroy: one environment (or the foundation) from a
# workstation, the way the workflows do it: synthesize, plan into a saved plan
# file, show its summary, ask, then apply exactly that plan file.
#
#   scripts/infra/deploy.sh deploy|destroy ENV [options]
#
#   ENV: an environment of config/environments.ts (dev, prod), foundation, or a
#   stack name (chat-dev); default $CHAT_ENV, else dev.
#   --auto-approve        apply without asking (needed without a terminal)
#   --outputs-file FILE   write the stack outputs as {"chat-ENV": {"name": value}}
#   --migrate-state       move the state to a changed backend (the foundation's bootstrap)
#   --confirm-destroy=ENV destroying a protected environment (protect: true, foundation) needs it
#   Terraform >= 1.10 or OpenTofu >= 1.10: terraform, else tofu, or TERRAFORM_BINARY_NAME.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
log() { printf '[deploy] %s\n' "$*" >&2; }
usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" >&2; }

command="${1:-}"
case "$command" in
  deploy|destroy) shift ;;
  -h|--help) usage; exit 0 ;;
  *) log "unknown command '${command}' (expected deploy or destroy)"; usage; exit 2 ;;
esac

env=''
auto_approve=false
outputs_file=''
confirmed=''
plan_options=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --auto-approve) auto_approve=true ;;
    --outputs-file) [[ $# -ge 2 ]] || { log "--outputs-file needs a file name"; exit 2; }; outputs_file="$2"; shift ;;
    --outputs-file=*) outputs_file="${1#--outputs-file=}" ;;
    --migrate-state) plan_options+=(--migrate-state) ;;
    --confirm-destroy=*) confirmed="${1#--confirm-destroy=}" ;;
    -*) log "unknown option '$1'"; usage; exit 2 ;;
    *)
      [[ -z "$env" ]] || { log "one environment at a time (got '$env' and '$1')"; exit 2; }
      env="${1#chat-}"
      ;;
  esac
  shift
done
env="${env:-${CHAT_ENV:-dev}}"
stack="chat-$env"

# The binary saved-plan.sh runs; choose one that exists.
if [[ -n "${TERRAFORM_BINARY_NAME:-}" ]]; then
  if ! command -v "$TERRAFORM_BINARY_NAME" >/dev/null 2>&1; then
    log "TERRAFORM_BINARY_NAME=$TERRAFORM_BINARY_NAME is not on PATH"
    exit 1
  fi
elif command -v terraform >/dev/null 2>&1; then
  export TERRAFORM_BINARY_NAME=terraform
elif command -v tofu >/dev/null 2>&1; then
  export TERRAFORM_BINARY_NAME=tofu
else
  log "neither terraform nor tofu is on PATH; install Terraform >= 1.10 or OpenTofu >= 1.10 (see docs/deploy.md)"
  exit 1
fi

bash scripts/bootstrap.sh npm
code=0
node_modules/.bin/tsx scripts/infra/environment.ts protected "$env" || code=$?
[[ $code -le 1 ]] || exit "$code"
if [[ "$command" == destroy ]]; then
  if [[ $code -eq 0 && "$confirmed" != "$env" ]]; then
    log "refusing to destroy $stack: it is a protected environment; pass --confirm-destroy=$env to confirm (its cache, KMS key and state keep prevent_destroy until config says protect: false)"
    exit 3
  fi
  plan_options+=(--destroy)
fi

export CHECKPOINT_DISABLE=1
log "$command $stack with $TERRAFORM_BINARY_NAME"
node_modules/.bin/tsx main.ts
plan=".deploy/$stack"
rm -rf "$plan"
bash scripts/infra/saved-plan.sh plan "$env" "$plan" "${plan_options[@]}"
cat "$plan/summary.md"

if [[ "$(jq -r .changes "$plan/meta.json")" == true ]]; then
  if [[ "$auto_approve" != true ]]; then
    if [[ ! -t 0 ]]; then
      log "no terminal to ask: review the plan above, then run again with --auto-approve"
      exit 1
    fi
    read -r -p "Apply this plan to $stack? Only 'yes' applies: " answer
    if [[ "$answer" != yes ]]; then
      log "cancelled; nothing was applied"
      exit 1
    fi
  fi
  bash scripts/infra/saved-plan.sh apply "$env" "$plan"
else
  log "$stack: no changes"
  "$TERRAFORM_BINARY_NAME" -chdir="cdktf.out/stacks/$stack" output -json > "$plan/outputs.json"
fi

if [[ -n "$outputs_file" ]]; then
  jq --arg stack "$stack" '{($stack): map_values(.value)}' "$plan/outputs.json" > "$outputs_file"
  log "outputs written to $outputs_file"
fi
