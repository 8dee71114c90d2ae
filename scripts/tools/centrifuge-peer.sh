#!/usr/bin/env bash
# Builds the benchmark's Centrifuge peer (bench/centrifuge, its versions pinned
# by its go.mod and go.sum, fetched from the Go module proxy) into .tools/bin
# when it is missing or was built from other sources. The stamp beside the
# binary is the hash of those sources.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
src="$root/bench/centrifuge"
bin="$root/.tools/bin"
log() { printf '[centrifuge-peer] %s\n' "$*" >&2; }

stamp="$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -d' ' -f1)"
if [[ -x "$bin/centrifuge-peer" ]] && [[ "$(cat "$bin/centrifuge-peer.sha256" 2>/dev/null)" == "$stamp" ]]; then
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "Go is needed to build the Centrifuge benchmark peer"; exit 1; }
mkdir -p "$bin"
log "building bench/centrifuge"
# Built beside the target and moved into place, so a bench running the old
# binary is never handed a half-written one.
(cd "$src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$bin/centrifuge-peer.tmp.$$" .)
mv "$bin/centrifuge-peer.tmp.$$" "$bin/centrifuge-peer"
printf '%s\n' "$stamp" >"$bin/centrifuge-peer.sha256"
