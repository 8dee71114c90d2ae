#!/usr/bin/env bash
# Policy scan of every environment's synthesized Terraform JSON with the pinned
# Checkov. Fails when any check fails; skipped checks and their reasons live in
# .checkov.yaml only.
#
#   scripts/infra/checkov.sh [--sarif-dir DIR] [--outdir DIR]
#
#   --sarif-dir DIR   also write results_sarif.sarif into DIR (for code scanning)
#   --outdir DIR      cdktf output directory to scan (default cdktf.out); it is
#                     synthesized first when missing or older than the sources
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
log() { printf '[checkov] %s\n' "$*" >&2; }

sarif_dir=""
outdir="cdktf.out"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sarif-dir) sarif_dir="${2:?--sarif-dir needs a directory}"; shift 2 ;;
    --outdir) outdir="${2:?--outdir needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) log "unknown argument: $1"; exit 2 ;;
  esac
done

bash scripts/tools/checkov.sh

# Synthesize when the output is missing or any input is newer than it.
manifest="$outdir/manifest.json"
stale_sources() {
  find main.ts cdktf.json stacks config service/src/defaults.ts service/src/drain.ts -type f -newer "$manifest" -print -quit 2>/dev/null
}
if [[ ! -f "$manifest" || -n "$(stale_sources)" ]]; then
  log "synthesizing into $outdir"
  mkdir -p "$outdir"
  CDKTF_OUTDIR="$outdir" node_modules/.bin/tsx main.ts
fi

# The manifest names the stacks of this synth (old stack directories may linger).
mapfile -t stack_files < <(node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const s of Object.values(m.stacks)) console.log(require("path").join(process.argv[2], s.synthesizedStackPath));
' "$manifest" "$outdir")
if [[ ${#stack_files[@]} -eq 0 ]]; then
  log "no stacks in $manifest"
  exit 1
fi

args=(--config-file "$root/.checkov.yaml")
for file in "${stack_files[@]}"; do args+=(-f "$file"); done
if [[ -n "$sarif_dir" ]]; then
  mkdir -p "$sarif_dir"
  args+=(--output cli --output sarif --output-file-path "console,$sarif_dir/results_sarif.sarif")
fi

log "scanning ${#stack_files[@]} stack(s): ${stack_files[*]}"
exec "$root/.tools/bin/checkov" "${args[@]}"
