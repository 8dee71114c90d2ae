#!/usr/bin/env bash
# npm run ami:build [-- packer build options, e.g. -var region=us-east-1]
# Bundles the service, builds the AMI with the pinned Packer and prints its id.
# Needs AWS credentials in the environment (profile, SSO or keys). The region
# is AWS_REGION when set, else the template's default; a -var given here wins.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '[ami:build] %s\n' "$*" >&2; }

bash scripts/tools/packer.sh
export PATH="$root/.tools/bin:$PATH"
export PACKER_PLUGIN_PATH="$root/.tools/packer-plugins"
export CHECKPOINT_DISABLE=1

# The image is tagged with a commit, so it must hold exactly that commit.
if [[ -n "$(git status --porcelain --untracked-files=no)" ]] && [[ "${ALLOW_DIRTY:-}" != 1 ]]; then
  log "the work tree has uncommitted changes; commit them (or set ALLOW_DIRTY=1)"
  exit 1
fi

version="$(node -p "require('./package.json').version")"
git_commit="$(git rev-parse HEAD)"
bundle="build/chat-service-$version.tar.gz"

bash scripts/bundle.sh >&2
bundle_sha256="$(sha256sum "$bundle" | cut -d' ' -f1)"

vars=(
  -var "version=$version"
  -var "git_commit=$git_commit"
  -var "bundle_path=$root/$bundle"
  -var "bundle_sha256=$bundle_sha256"
)
[[ -n "${AWS_REGION:-}" ]] && vars+=(-var "region=$AWS_REGION")

log "building chat-service $version (${git_commit:0:7}), bundle sha256 $bundle_sha256"
rm -f packer/manifest.json
packer build -color=false "${vars[@]}" "$@" packer

# The manifest's last run holds "<region>:<ami id>".
ami_id="$(node -e "
  const m = JSON.parse(require('node:fs').readFileSync('packer/manifest.json', 'utf8'));
  const run = m.builds.filter((b) => b.packer_run_uuid === m.last_run_uuid).pop();
  console.log(run.artifact_id.split(',')[0].split(':')[1]);
")"
log "AMI $ami_id recorded in packer/manifest.json"
printf '%s\n' "$ami_id"
