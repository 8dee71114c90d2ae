#!/usr/bin/env bash
# Deploys or destroys environments with the pinned cdktf CLI, using terraform
# or, when that is missing, OpenTofu.
#
#   scripts/infra/cdktf.sh deploy|destroy|diff [ENV|STACK ...] [cdktf options]
#
#   ENV is an environment of config/environments.ts (dev, prod) or its stack
#   name (chat-dev); default: $CHAT_ENV, else dev. Options such as
#   --auto-approve go to cdktf unchanged. TERRAFORM_BINARY_NAME picks the binary
#   explicitly (terraform or tofu).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
log() { printf '[cdktf] %s\n' "$*" >&2; }
usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" >&2; }

command="${1:-}"
case "$command" in
  deploy|destroy|diff) shift ;;
  -h|--help) usage; exit 0 ;;
  *) log "unknown command '${command}' (expected deploy, destroy or diff)"; usage; exit 2 ;;
esac

stacks=()
options=()
for arg in "$@"; do
  case "$arg" in
    -*) options+=("$arg") ;;
    chat-*) stacks+=("$arg") ;;
    *) stacks+=("chat-$arg") ;;
  esac
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
export CHECKPOINT_DISABLE=1
log "$command ${stacks[*]} with $TERRAFORM_BINARY_NAME"
exec node_modules/.bin/cdktf "$command" "${stacks[@]}" "${options[@]}"
