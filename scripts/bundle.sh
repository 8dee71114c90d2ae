#!/usr/bin/env bash
# npm run bundle: the service as one artifact, build/chat-service-<version>.tar.gz.
# It unpacks to chat-service-<version>/ holding package.json, the production
# node_modules (the lock file's exact versions, no dev dependencies),
# service/dist/ and service/public/. The AMI installs it under /opt/chat.
# Prints the bundle's path and its SHA-256 (also written next to it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '[bundle] %s\n' "$*" >&2; }

version="$(node -p "require('./package.json').version")"
name="chat-service-$version"
out_dir="$root/build"
bundle="$out_dir/$name.tar.gz"

stage="$(mktemp -d "${TMPDIR:-/tmp}/chat-bundle.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
app="$stage/$name"
mkdir -p "$app/service"

cp package.json package-lock.json "$app/"
cp -R service/public "$app/service/public"

log "building the service"
# The same compile as `npm run build`, written straight into the staging copy:
# the bundle always holds the current sources, and the shared service/dist
# (which running tests may be reading) is left alone. Declarations are for
# compilers only; source maps stay for stack traces.
node_modules/.bin/tsc -p service/tsconfig.json --outDir "$app/service/dist" --declaration false

log "installing production dependencies"
# A clean install from the lock file into the staging copy: the shared
# node_modules is never touched, and nothing but production packages lands.
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2)
rm -f "$app/node_modules/.package-lock.json"

# Same inputs, same bytes: fixed order, owner and mtime (the commit's time),
# and no timestamp in the gzip header.
mtime="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
mkdir -p "$out_dir"
tar --sort=name --mtime="@$mtime" --owner=0 --group=0 --numeric-owner \
  --mode='u+rwX,go+rX,go-w' -C "$stage" -cf - "$name" | gzip -9 -n >"$bundle.tmp"
mv "$bundle.tmp" "$bundle"

sha256="$(sha256sum "$bundle" | cut -d' ' -f1)"
printf '%s  %s\n' "$sha256" "$(basename "$bundle")" >"$bundle.sha256"
log "$(du -h "$bundle" | cut -f1) $bundle"
printf 'bundle: %s\nsha256: %s\n' "$bundle" "$sha256"
