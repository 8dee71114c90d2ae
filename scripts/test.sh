#!/usr/bin/env bash
# The whole suite, as CI runs it: install what is missing, build, typecheck,
# then every test file under test/ with node's test runner.
#   scripts/test.sh                 everything
#   scripts/test.sh test/service    only the files below the given paths
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/bootstrap.sh all
# The pinned Node.js (the AMI's) and the project's tools first on PATH.
# shellcheck source=scripts/node-path.sh
source scripts/node-path.sh
echo "node $(node --version)" >&2
npm run --silent build
npm run --silent lint

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(test)
mapfile -t files < <(find "${targets[@]}" -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "no test files found under: ${targets[*]}" >&2
  exit 1
fi
mkdir -p test-results
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=junit --test-reporter-destination=test-results/junit.xml \
  "${files[@]}"
