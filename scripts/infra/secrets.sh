#!/usr/bin/env bash
# npm run secrets: puts the values of an environment's identity secrets (the
# HS256 token secret, the publish API key) into the empty Secrets Manager
# secrets its stack created. The values never pass through Terraform, so they
# are in neither the state nor a plan; nor through argv, stdout or a log: each
# is generated into a 0600 temporary file that the AWS CLI reads (file://).
#
#   scripts/infra/secrets.sh init ENV          a value for every secret that has none (AWSCURRENT missing); idempotent
#   scripts/infra/secrets.sh rotate ENV NAME   a new value for secret NAME (jwt-secret, publish-api-key)
#   scripts/infra/secrets.sh tokens ENV FILE   k6 load-test tokens signed with jwt-secret into FILE (0600)
#
#   tokens reads the jwt-secret value (aws secretsmanager get-secret-value) and
#   pipes it straight into scripts/infra/loadtest-tokens.ts: one token a line,
#   one user per k6 VU, for npm run loadtest -- --tokens FILE. An environment
#   verified by a JWKS URL has no jwt-secret: mint with its issuer instead.
#
#   The secret ARNs come from the stack output identity_secrets: run it after
#   the stack is applied (npm run deploy -- ENV). AWS credentials and region as
#   for the AWS CLI; $TERRAFORM_BINARY_NAME (else terraform).
set -euo pipefail

here="$PWD"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
log() { printf '[secrets] %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }
usage() { sed -n '8,10p' "${BASH_SOURCE[0]}" | sed 's/^#   /usage: /' >&2; exit 2; }

command="${1:-}" env="${2:-}" name="${3:-}"
case "$command:$#" in
  init:2|rotate:3|tokens:3) ;;
  *) usage ;;
esac
env="${env#chat-}"
# FILE is relative to where the command was started, not to the project root.
[[ "$command" != tokens || "$name" == /* ]] || name="$here/$name"
known="$(node_modules/.bin/tsx scripts/infra/environment.ts names)"
grep -qxF -- "$env" <<<"$known" || fail "unknown environment '$env' (known: $(paste -sd, <<<"$known" | sed 's/,/, /g'))"
stack="chat-$env"
dir="cdktf.out/stacks/$stack"
[[ -f "$dir/cdk.tf.json" ]] || fail "$dir is not synthesized: run npm run deploy -- $env (or npm run synth) first"

arns="$("${TERRAFORM_BINARY_NAME:-terraform}" -chdir="$dir" output -json | jq -c '.identity_secrets.value // empty')"
[[ -n "$arns" ]] || fail "$stack has no output identity_secrets: apply the stack first (npm run deploy -- $env)"
names="$(jq -r 'keys[]' <<<"$arns")"
if [[ "$command" == tokens ]]; then
  # $name is the output file here.
  grep -qxF jwt-secret <<<"$names" \
    || fail "$stack has no jwt-secret: its tokens come from an external issuer (JWKS); mint load-test tokens with that issuer and pass them with npm run loadtest -- --tokens FILE"
  arn="$(jq -r '.["jwt-secret"]' <<<"$arns")"
  # The value goes from the AWS CLI's stdout straight into the minting script's stdin: never in argv, a variable or a log.
  aws secretsmanager get-secret-value --secret-id "$arn" --query SecretString --output text \
    | node_modules/.bin/tsx scripts/infra/loadtest-tokens.ts "$env" "$name" \
    || fail "$stack: could not mint load-test tokens into $name (has jwt-secret a value? npm run secrets -- init $env)"
  exit 0
fi
[[ -n "$names" ]] || { log "$stack has no identity secrets (JWKS and no publish API): nothing to do"; exit 0; }

# True when the secret has a current value.
has_value() {
  aws secretsmanager describe-secret --secret-id "$1" --query VersionIdsToStages --output json \
    | jq -e '[.[]? | select(index("AWSCURRENT"))] | length > 0' >/dev/null
}

# Puts a new value (64 hex digits, 256 bits: letters and digits only, as the
# boot script's environment file needs) as the secret's AWSCURRENT version.
value_file=''
trap 'rm -f "$value_file"' EXIT
put_value() {
  local arn="$1" secret="$2" version
  value_file="$(mktemp)" # 0600
  openssl rand -hex 32 | tr -d '\n' > "$value_file"
  version="$(aws secretsmanager put-secret-value --secret-id "$arn" --secret-string "file://$value_file" --query VersionId --output text)"
  rm -f "$value_file"
  log "$stack: $secret has a new value (version $version)"
}

case "$command" in
  init)
    while read -r secret; do
      arn="$(jq -r --arg n "$secret" '.[$n]' <<<"$arns")"
      if has_value "$arn"; then log "$stack: $secret already has a value; kept (rotate it with: npm run secrets -- rotate $env $secret)"
      else put_value "$arn" "$secret"
      fi
    done <<<"$names"
    ;;
  rotate)
    grep -qxF -- "$name" <<<"$names" || fail "unknown secret '$name' for $stack (its secrets: $(paste -sd, <<<"$names" | sed 's/,/, /g'))"
    put_value "$(jq -r --arg n "$name" '.[$n]' <<<"$arns")" "$name"
    ;;
esac
