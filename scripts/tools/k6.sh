#!/usr/bin/env bash
# Builds the pinned k6 from the Go module proxy into .tools/bin when it is
# missing or another version. k6 has no npm or Debian package.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail

K6_VERSION="v1.8.1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/.tools/bin"
log() { printf '[k6] %s\n' "$*" >&2; }

if [[ -x "$bin/k6" ]] && "$bin/k6" version 2>/dev/null | grep -q "k6 ${K6_VERSION} "; then
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "Go is needed to build k6 (https://go.dev/dl/ or apt-get install golang)"; exit 1; }

mkdir -p "$bin"
log "building k6 ${K6_VERSION} with go install (a few minutes the first time)"
start=$(date +%s)
GOBIN="$bin" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "go.k6.io/k6@${K6_VERSION}"
log "built in $(( $(date +%s) - start ))s: $("$bin/k6" version | head -1)"
