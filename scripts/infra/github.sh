#!/usr/bin/env bash
# GitHub API checks of the deploy workflow, through the gh CLI (GH_TOKEN and
# GITHUB_REPOSITORY set by the workflow).
#
#   scripts/infra/github.sh require-reviewers ENV
#       A protected environment (config: protect: true) must be a GitHub
#       environment with a required-reviewers rule; refuse to apply otherwise.
#   scripts/infra/github.sh fetch-plan ENV SHA DIR
#       Download the saved plan artifact plan-ENV-SHA of the pull request or
#       merge queue run into DIR; fail when there is none (never re-plan).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
log() { printf '[github] %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }
repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"

case "${1:-}" in
  require-reviewers)
    env="${2:?environment}"
    code=0
    node_modules/.bin/tsx scripts/infra/environment.ts protected "$env" || code=$?
    [[ $code -le 1 ]] || exit "$code"
    if [[ $code -eq 1 ]]; then
      log "$env is not a protected environment: no reviewers required"
      exit 0
    fi
    reviewers="$(gh api "repos/$repo/environments/$env" --jq '[.protection_rules[]? | select(.type == "required_reviewers" and ((.reviewers // []) | length) > 0)] | length')" \
      || fail "cannot read the GitHub environment $env of $repo; refusing to apply"
    [[ "$reviewers" -gt 0 ]] || fail "the GitHub environment $env of $repo has no required reviewers; refusing to apply a protected environment (Settings > Environments > $env > Required reviewers)"
    log "$env requires reviewers ($reviewers rule)"
    ;;
  fetch-plan)
    env="${2:?environment}" sha="${3:?commit}" dir="${4:?directory}"
    name="plan-$env-$sha"
    run="$(gh api "repos/$repo/actions/artifacts?name=$name&per_page=100" --jq '[.artifacts[] | select(.expired | not)] | sort_by(.created_at) | last | .workflow_run.id // empty')"
    [[ -n "$run" ]] || fail "no reviewed plan $name: the pull request (or merge queue) plan of this commit is missing or expired; re-run it, nothing is re-planned here"
    gh run download "$run" --repo "$repo" --name "$name" --dir "$dir"
    log "fetched $name from run $run"
    ;;
  *) sed -n '2,12p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
