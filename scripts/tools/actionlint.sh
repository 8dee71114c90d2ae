#!/usr/bin/env bash
# Builds the pinned actionlint (GitHub Actions workflow linter) from the Go
# module proxy into .tools/bin when it is missing or another version.
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/.tools/bin"
log() { printf '[actionlint] %s\n' "$*" >&2; }

if [[ -x "$bin/actionlint" ]] && [[ "$("$bin/actionlint" -version 2>/dev/null | head -1)" == "${ACTIONLINT_VERSION#v}" ]]; then
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "Go is needed to build actionlint"; exit 1; }
mkdir -p "$bin"
log "building actionlint ${ACTIONLINT_VERSION} with go install"
GOBIN="$bin" CGO_ENABLED=0 go install -ldflags "-X github.com/rhysd/actionlint.version=${ACTIONLINT_VERSION#v}" "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
