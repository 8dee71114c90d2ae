#!/usr/bin/env bash
# The reviewed plan is the applied plan: the pull request plans each
# environment into a directory that is kept as an artifact, and the deploy
# applies exactly that directory's plan file, or fails.
#
#   scripts/infra/saved-plan.sh plan  ENV DIR [--destroy] [--migrate-state]
#       init, plan -out, show -json, summary -> DIR (--destroy: a plan that deletes
#       everything; --migrate-state: init moves the state to a changed backend)
#   scripts/infra/saved-plan.sh apply ENV DIR   apply DIR's saved plan; outputs -> DIR/outputs.json
#   scripts/infra/saved-plan.sh drift ENV DIR   plan; exit 1 with the summary when it is not empty
#
#   Run `npm run synth` first. The commit is $GITHUB_SHA (else HEAD); the binary
#   $TERRAFORM_BINARY_NAME (else terraform). A saved plan made for another commit
#   or another synthesized configuration, or made before the state changed
#   (Terraform: "Saved plan is stale"), fails: it is never re-planned here.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
log() { printf '[saved-plan] %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

[[ $# -ge 3 ]] || { sed -n '6,16p' "${BASH_SOURCE[0]}" >&2; exit 2; }
command="$1" env="$2" out="$3"
shift 3
plan_flags=()
init_flags=()
for option in "$@"; do
  case "$command:$option" in
    plan:--destroy) plan_flags+=(-destroy) ;;
    plan:--migrate-state) init_flags+=(-migrate-state -force-copy) ;;
    *) log "unknown option '$option' for $command"; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stack="chat-$env"
dir="cdktf.out/stacks/$stack"
tf="${TERRAFORM_BINARY_NAME:-terraform}"
[[ -f "$dir/cdk.tf.json" ]] || fail "$dir/cdk.tf.json is missing: run npm run synth first (is '$env' an environment of config/environments.ts?)"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
commit="${GITHUB_SHA:-$(git rev-parse HEAD 2>/dev/null || echo uncommitted)}"
config_sha="$(sha256sum "$dir/cdk.tf.json" | cut -d' ' -f1)"

# Plans into $out; returns Terraform's detailed exit code (0 no changes, 2 changes).
plan_into() {
  "$tf" -chdir="$dir" init -input=false -no-color "${init_flags[@]}" >&2
  local code=0
  "$tf" -chdir="$dir" plan -input=false -no-color -detailed-exitcode "${plan_flags[@]}" -out=tfplan >&2 || code=$?
  [[ $code -eq 0 || $code -eq 2 ]] || fail "terraform plan failed (exit $code)"
  "$tf" -chdir="$dir" show -json tfplan > "$out/plan.json"
  cp "$dir/tfplan" "$out/tfplan"
  # The provider checksums the plan was made with; apply restores them before init.
  cp "$dir/.terraform.lock.hcl" "$out/terraform.lock.hcl"
  npm run --silent plan:summary -- "$out/plan.json" --title "$stack" > "$out/summary.md"
  jq -n --arg environment "$env" --arg stack "$stack" --arg commit "$commit" --arg config "$config_sha" --argjson changes "$([[ $code -eq 2 ]] && echo true || echo false)" \
    '{environment: $environment, stack: $stack, commit: $commit, config_sha256: $config, changes: $changes}' > "$out/meta.json"
  return "$code"
}

case "$command" in
  plan)
    code=0
    plan_into || code=$?
    log "$stack: plan for ${commit:0:12} saved in $out ($([[ $code -eq 2 ]] && echo changes || echo 'no changes'))"
    ;;
  apply)
    [[ -f "$out/meta.json" && -f "$out/tfplan" ]] || fail "no saved plan in $out for $stack"
    planned_env="$(jq -r .environment "$out/meta.json")"
    planned_commit="$(jq -r .commit "$out/meta.json")"
    planned_config="$(jq -r .config_sha256 "$out/meta.json")"
    [[ "$planned_env" == "$env" ]] || fail "the saved plan is for environment $planned_env, not $env"
    [[ "$planned_commit" == "$commit" ]] || fail "stale saved plan: made for commit $planned_commit, this is $commit; re-run the plan of the pull request, nothing is re-planned here"
    [[ "$planned_config" == "$config_sha" ]] || fail "stale saved plan: the configuration synthesized here ($config_sha) is not the one planned ($planned_config)"
    cp "$out/terraform.lock.hcl" "$dir/.terraform.lock.hcl"
    "$tf" -chdir="$dir" init -input=false -no-color >&2
    cp "$out/tfplan" "$dir/tfplan"
    "$tf" -chdir="$dir" apply -input=false -no-color tfplan >&2 || fail "terraform refused the saved plan of $stack (see above); nothing was re-planned"
    "$tf" -chdir="$dir" output -json > "$out/outputs.json"
    log "$stack: applied the reviewed plan of ${commit:0:12}"
    ;;
  drift)
    code=0
    plan_into || code=$?
    if [[ $code -eq 2 ]]; then
      cat "$out/summary.md"
      [[ -n "${GITHUB_STEP_SUMMARY:-}" ]] && cat "$out/summary.md" >> "$GITHUB_STEP_SUMMARY"
      fail "$stack has drifted: the plan is not empty (summary above)"
    fi
    log "$stack: no drift"
    ;;
  *) log "unknown command '$command' (expected plan, apply or drift)"; exit 2 ;;
esac
