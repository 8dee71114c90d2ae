#!/usr/bin/env bash
# The whole suite, as CI runs it: install what is missing, build, typecheck,
# then every test file under test/ with node's test runner.
#   scripts/test.sh                      everything
#   scripts/test.sh test/service         only the files below the given paths (or the files given)
#   scripts/test.sh --no-setup PATHS     without the install, build and typecheck (the runner's own test)
# Files named *.serial.test.ts load the whole machine (an end-to-end benchmark):
# they run one at a time after all the others, which run TEST_CONCURRENCY at a time.
# A test that runs longer than TEST_TIMEOUT_MS (unless it sets its own timeout)
# fails, and a file whose tests are done exits TEST_EXIT_GRACE_MS later even if
# something it started still holds its event loop (test/support/exitWhenDone.ts):
# nothing can keep the suite waiting for ever.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

setup=1
if [[ "${1:-}" == "--no-setup" ]]; then
  setup=0
  shift
fi
if [[ $setup -eq 1 ]]; then
  bash scripts/bootstrap.sh all
fi
# The pinned Node.js (the AMI's) and the project's tools first on PATH.
# shellcheck source=scripts/node-path.sh
source scripts/node-path.sh
if [[ $setup -eq 1 ]]; then
  echo "node $(node --version)" >&2
  npm run --silent build
  npm run --silent lint
fi

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(test)
files=()
for target in "${targets[@]}"; do
  if [[ -f "$target" ]]; then
    files+=("$target")
  else
    mapfile -t -O "${#files[@]}" files < <(find "$target" -name '*.test.ts' -not -path '*/node_modules/*' | sort)
  fi
done
if [[ ${#files[@]} -eq 0 ]]; then
  echo "no test files found under: ${targets[*]}" >&2
  exit 1
fi
parallel=()
serial=()
for file in "${files[@]}"; do
  if [[ "$file" == *.serial.* ]]; then serial+=("$file"); else parallel+=("$file"); fi
done

results="${TEST_RESULTS_DIR:-test-results}"
mkdir -p "$results"
run() { # run CONCURRENCY JUNIT_FILE FILES...
  local concurrency="$1" junit="$2"
  shift 2
  node --import tsx --import ./test/support/exitWhenDone.ts --test --test-concurrency="$concurrency" \
    --test-timeout="${TEST_TIMEOUT_MS:-300000}" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="$results/$junit" \
    "$@"
}
status=0
if [[ ${#parallel[@]} -gt 0 ]]; then
  run "${TEST_CONCURRENCY:-2}" junit.xml "${parallel[@]}" || status=$?
fi
if [[ ${#serial[@]} -gt 0 ]]; then
  echo "serial: ${serial[*]}" >&2
  run 1 junit-serial.xml "${serial[@]}" || status=$?
fi
exit "$status"
