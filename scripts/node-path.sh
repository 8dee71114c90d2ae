#!/usr/bin/env bash
# scripts/node-path.sh COMMAND [ARGS...]   runs COMMAND with the PATH below
# source scripts/node-path.sh              sets that PATH in the calling script
# The project's pinned Node.js (scripts/tools/node.sh installs it into
# .tools/node when the machine's is another major) and its tools come first on
# PATH; npm test and npm run local go through here.
set -euo pipefail
node_path_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$node_path_root/.tools/node/bin/node" ]]; then PATH="$node_path_root/.tools/node/bin:$PATH"; fi
export PATH="$node_path_root/.tools/bin:$PATH"
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then exec "$@"; fi
