#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian/Ubuntu machine, and nothing
# that is already there. Every tool version is pinned in scripts/tools/*.sh.
#
#   scripts/bootstrap.sh npm     npm packages only
#   scripts/bootstrap.sh local   npm + the pinned Node.js when the machine's is another
#                                major (scripts/tools/node.sh) + redis-server, haproxy,
#                                openssl (npm run local)
#   scripts/bootstrap.sh k6      npm + k6
#   scripts/bootstrap.sh all     everything npm test needs
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
profile="${1:-all}"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

ensure_npm() {
  # npm ci only when the lock file changed since the last install.
  if [[ ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
    log "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# ensure_apt PACKAGE:COMMAND ... installs the Debian packages whose command is missing.
ensure_apt() {
  local missing=() spec pkg cmd
  for spec in "$@"; do
    pkg="${spec%%:*}"; cmd="${spec#*:}"
    command -v "$cmd" >/dev/null 2>&1 || [[ -x "$cmd" ]] || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ "$(id -u)" -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]}"
    log "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

local_packages=(redis-server:redis-server haproxy:haproxy openssl:openssl)
# CHROMIUM_PATH names another Chromium-based browser (e.g. Google Chrome on GitHub runners).
test_packages=("chromium:${CHROMIUM_PATH:-/usr/bin/chromium}" shellcheck:shellcheck systemd:systemd-analyze jq:jq)

run_tool() { bash "$root/scripts/tools/$1.sh"; }

case "$profile" in
  npm) ensure_npm ;;
  local) ensure_npm; run_tool node; ensure_apt "${local_packages[@]}" ;;
  k6) ensure_npm; run_tool k6 ;;
  all)
    ensure_npm
    ensure_apt "${local_packages[@]}" "${test_packages[@]}"
    for tool in "$root"/scripts/tools/*.sh; do bash "$tool"; done
    ;;
  *) log "unknown profile '$profile' (expected npm, local, k6 or all)"; exit 2 ;;
esac
