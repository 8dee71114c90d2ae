#!/usr/bin/env bash
# Installs the pinned Checkov (policy scanner for the synthesized Terraform JSON)
# into the project-local venv .tools/venv and links it as .tools/bin/checkov.
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail

CHECKOV_VERSION="3.3.30"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.tools/venv"
bin="$root/.tools/bin"
log() { printf '[checkov] %s\n' "$*" >&2; }

installed_version() {
  [[ -x "$venv/bin/checkov" ]] || return 1
  "$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null
}

if [[ "$(installed_version || true)" == "$CHECKOV_VERSION" && -L "$bin/checkov" ]]; then
  exit 0
fi

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  # Debian splits the venv module (and its pip bootstrap) into python3-venv.
  if [[ "$(id -u)" -ne 0 ]]; then
    log "python3-venv is missing; run: sudo apt-get update && sudo apt-get install -y python3-venv"
    exit 1
  fi
  log "installing python3-venv"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi

log "installing checkov $CHECKOV_VERSION into $venv"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
mkdir -p "$bin"
ln -sf "$venv/bin/checkov" "$bin/checkov"
log "checkov $("$bin/checkov" --version) ready"
