#!/usr/bin/env bash
# Deploys or destroys environments with the pinned cdktf CLI, using terraform
# or, when that is missing, OpenTofu.
#
#   scripts/infra/cdktf.sh deploy|destroy|diff [ENV|STACK ...] [cdktf options]
#
#   ENV is an environment of config/environments.ts (dev, prod), foundation,
#   or a stack name (chat-dev); default: $CHAT_ENV, else dev. Options such as
#   --auto-approve or --outputs-file FILE go to cdktf unchanged. Destroying a
#   protected environment (config: protect: true) needs --confirm-destroy=ENV.
#   TERRAFORM_BINARY_NAME picks the binary explicitly (terraform or tofu).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
log() { printf '[cdktf] %s\n' "$*" >&2; }
usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" >&2; }

command="${1:-}"
case "$command" in
  deploy|destroy|diff) shift ;;
  -h|--help) usage; exit 0 ;;
  *) log "unknown command '${command}' (expected deploy, destroy or diff)"; usage; exit 2 ;;
esac

# cdktf options that take the next argument as their value: without this list
# `--outputs-file outputs.json` would turn the file name into a stack pattern.
takes_value='^--(outputs-file|var|var-file|parallelism|terraform-parallelism|app|output|exclude-stacks)$'
stacks=()
options=()
confirmed=''
while [[ $# -gt 0 ]]; do
  case "$1" in
    --confirm-destroy=*) confirmed="${1#--confirm-destroy=}" ;;
    --confirm-destroy) confirmed="${2:-}"; shift ;;
    -*)
      options+=("$1")
      if [[ "$1" =~ $takes_value ]]; then
        [[ $# -ge 2 ]] || { log "$1 needs a value"; exit 2; }
        options+=("$2")
        shift
      fi
      ;;
    chat-*) stacks+=("$1") ;;
    *) stacks+=("chat-$1") ;;
  esac
  shift
done
[[ ${#stacks[@]} -eq 0 ]] && stacks=("chat-${CHAT_ENV:-dev}")

# cdktf runs whatever TERRAFORM_BINARY_NAME names; choose one that exists.
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

if [[ "$command" == destroy ]]; then
  for stack in "${stacks[@]}"; do
    env="${stack#chat-}"
    code=0
    node_modules/.bin/tsx scripts/infra/environment.ts protected "$env" || code=$?
    [[ $code -le 1 ]] || exit "$code"
    if [[ $code -eq 0 && "$confirmed" != "$env" ]]; then
      log "refusing to destroy $stack: it is a protected environment; pass --confirm-destroy=$env to confirm (its cache, KMS key and state keep prevent_destroy until config says protect: false)"
      exit 3
    fi
  done
fi

export CHECKPOINT_DISABLE=1
log "$command ${stacks[*]} with $TERRAFORM_BINARY_NAME"
exec node_modules/.bin/cdktf "$command" "${stacks[@]}" "${options[@]}"
