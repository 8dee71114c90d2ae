#!/usr/bin/env bash
# Pinned Packer and its pinned Amazon plugin, built from the Go module proxy
# into .tools/ (HashiCorp's release downloads are not reachable from here or CI).
#
#   .tools/bin/packer                  Packer itself
#   .tools/packer-plugins/...          the Amazon plugin, laid out the way
#                                      `packer plugins install --path` lays it
#                                      out, so PACKER_PLUGIN_PATH finds it
#
# Does nothing when both pinned versions are already there. Both modules carry
# `replace` directives in their go.mod, which `go install module@version`
# refuses; for such a module the source is fetched with `go mod download` and
# built in place, against the module's own go.sum.
set -euo pipefail

readonly PACKER_VERSION=1.14.3
readonly AMAZON_PLUGIN_VERSION=1.3.6
# Checksums of the module zips (go.sum "h1:" form). The public checksum
# database is not reachable for these modules through the proxy, so the
# pinned hashes are checked here instead of being skipped.
readonly PACKER_MODULE_SUM='h1:8Vd10c6rsxcVNfUjzTE4P6rh/LPCBGCMjeFgpV/pQrw='
readonly AMAZON_PLUGIN_MODULE_SUM='h1:YBrTHhzYo/29VPdvHI7p35dwh3Y5HvFtsc5dL99C3N4='

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin_dir="$root/.tools/bin"
plugin_dir="$root/.tools/packer-plugins"
packer_bin="$bin_dir/packer"

log() { printf '[tools/packer] %s\n' "$*" >&2; }

# No "newer version available" call home: there is no route to it here.
export CHECKPOINT_DISABLE=1

packer_is_current() {
  [[ -x "$packer_bin" ]] && [[ "$("$packer_bin" version 2>/dev/null | head -n1)" == "Packer v$PACKER_VERSION" ]]
}

plugin_is_current() {
  local matches
  matches=$(find "$plugin_dir/github.com/hashicorp/amazon" -maxdepth 1 -type f \
    -name "packer-plugin-amazon_v${AMAZON_PLUGIN_VERSION}_x*" ! -name '*_SHA256SUM' 2>/dev/null || true)
  [[ -n "$matches" ]]
}

if packer_is_current && plugin_is_current; then
  exit 0
fi

command -v go >/dev/null 2>&1 || { log "go is required to build Packer"; exit 1; }

# The checksum database has no entry for these two modules behind the proxy;
# their hashes are pinned above and checked by verify_module_sum.
export GONOSUMDB="github.com/hashicorp/packer,github.com/hashicorp/packer-plugin-amazon${GONOSUMDB:+,$GONOSUMDB}"
export CGO_ENABLED=0

# module_dir MODULE VERSION EXPECTED_SUM: downloads the module, checks its
# hash and prints the (read-only) directory it was unpacked into.
module_dir() {
  local module="$1" version="$2" expected_sum="$3" json dir sum
  json=$(go mod download -json "$module@v$version")
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
  sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
  if [[ -z "$dir" ]]; then
    log "go mod download $module@v$version failed:"
    printf '%s\n' "$json" >&2
    return 1
  fi
  if [[ "$sum" != "$expected_sum" ]]; then
    log "$module@v$version has hash $sum, expected $expected_sum"
    return 1
  fi
  printf '%s\n' "$dir"
}

# build_module MODULE VERSION EXPECTED_SUM OUTPUT: go install when the module
# allows it, otherwise download and build in place.
build_module() {
  local module="$1" version="$2" expected_sum="$3" output="$4" dir gobin
  gobin=$(mktemp -d)
  if GOBIN="$gobin" go install "$module@v$version" 2>"$gobin/install.log"; then
    # go install still checks the module against go.sum rules; the hash is
    # checked here too so that both paths give the same guarantee.
    module_dir "$module" "$version" "$expected_sum" >/dev/null
    mv "$gobin/$(basename "$module")" "$output"
  else
    log "go install refused $module@v$version ($(tail -n1 "$gobin/install.log")); building it in place"
    dir=$(module_dir "$module" "$version" "$expected_sum")
    (cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$output" .)
  fi
  rm -rf "$gobin"
}

mkdir -p "$bin_dir" "$plugin_dir"
start=$SECONDS

if ! packer_is_current; then
  log "building Packer v$PACKER_VERSION"
  build_module github.com/hashicorp/packer "$PACKER_VERSION" "$PACKER_MODULE_SUM" "$packer_bin.new"
  mv "$packer_bin.new" "$packer_bin"
fi

if ! plugin_is_current; then
  log "building packer-plugin-amazon v$AMAZON_PLUGIN_VERSION"
  plugin_build=$(mktemp -d)
  trap 'rm -rf "$plugin_build"' EXIT
  build_module github.com/hashicorp/packer-plugin-amazon "$AMAZON_PLUGIN_VERSION" \
    "$AMAZON_PLUGIN_MODULE_SUM" "$plugin_build/packer-plugin-amazon"
  # Let Packer name and checksum the binary itself, exactly as
  # `packer init` would have laid out a downloaded release.
  PACKER_PLUGIN_PATH="$plugin_dir" \
    "$packer_bin" plugins install --path "$plugin_build/packer-plugin-amazon" github.com/hashicorp/amazon >&2
fi

if ! packer_is_current || ! plugin_is_current; then
  log "Packer or its plugin did not install as expected"
  exit 1
fi
log "Packer v$PACKER_VERSION with amazon plugin v$AMAZON_PLUGIN_VERSION ready in $((SECONDS - start))s"
