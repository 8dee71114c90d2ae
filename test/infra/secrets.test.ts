// npm run secrets (scripts/infra/secrets.sh) through the terraform and aws
// stand-ins, after npm run deploy: init puts a value only into the secrets that
// have none, rotate puts exactly one new version, the value is in no argv, no
// output and no Terraform state, and a bad environment or secret name fails
// with a clear error before anything is put. tokens mints k6's load-test tokens
// with the current jwt-secret value, piped from the AWS CLI into the minting
// script; an environment without a jwt-secret (JWKS) is told to bring its own.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jwtVerify } from 'jose';
import { environments } from '../../config/environments.js';
import { foundation } from '../../config/foundation.js';
import { largestScenarioVus } from '../../scripts/infra/loadtest-tokens.js';
import { COMMANDS } from './documented-commands.js';
import { createSandbox, type Sandbox } from './sandbox.js';

interface Version { id: string; stages: string[]; value: string }
interface Secret { arn: string; versions: Version[] }

describe('npm run secrets through the terraform and aws stand-ins', () => {
  let sandbox: Sandbox;
  const output: string[] = [];
  const run = (line: string) => {
    const result = sandbox.run('bash', ['-c', line], { env: { AWS_REGION: 'eu-west-1' } });
    output.push(result.stdout, result.stderr);
    return result;
  };
  const secrets = (): Secret[] => {
    const dir = join(sandbox.standins, 'aws', 'secrets');
    return readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Secret);
  };
  const named = (part: string) => secrets().find((s) => s.arn.includes(`${part}_`))!;
  const current = (secret: Secret) => secret.versions.filter((v) => v.stages.includes('AWSCURRENT'));
  const puts = () => sandbox.calls('aws').filter((c) => c.argv[1] === 'put-secret-value');

  before(() => {
    sandbox = createSandbox();
    sandbox.bucket(foundation.stateBucket);
    const deployed = sandbox.run('npm', ['run', 'deploy', '--', 'dev', '--auto-approve']);
    assert.equal(deployed.status, 0, deployed.stdout + deployed.stderr);
  });
  after(() => sandbox.remove());

  test('init puts a value into each secret that has none, from a 0600 file, never in argv or output', () => {
    const result = run(COMMANDS.secretsInit);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const calls = puts();
    assert.equal(calls.length, 2, 'the token secret and the publish API key');
    for (const part of ['jwt-secret', 'publish-api-key']) {
      const secret = named(part);
      assert.ok(secret, part);
      assert.equal(current(secret).length, 1);
      assert.match(current(secret)[0].value, /^[0-9a-f]{64}$/, '256 bits, letters and digits only, no newline');
      assert.match(result.stderr, new RegExp(`chat-dev: ${part} has a new value`));
    }
    for (const call of calls) {
      assert.match(call.argv[call.argv.indexOf('--secret-string') + 1], /^file:\/\//);
      assert.equal(call.secretFileMode, '600');
    }
    const [jwt, key] = ['jwt-secret', 'publish-api-key'].map((p) => current(named(p))[0].value);
    assert.notEqual(jwt, key);
  });

  test('init again keeps the values: nothing is put', () => {
    const values = secrets().map((s) => current(s)[0].value).sort();
    const before = puts().length;
    const result = run(COMMANDS.secretsInit);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(puts().length, before);
    assert.match(result.stderr, /jwt-secret already has a value; kept/);
    assert.deepEqual(secrets().map((s) => current(s)[0].value).sort(), values);
  });

  test('init fills only the secret that is empty', () => {
    const key = named('publish-api-key');
    sandbox.answer(`aws/secrets/${encodeURIComponent(key.arn)}.json`, { arn: key.arn, versions: [] });
    const before = puts().length;
    const result = run(COMMANDS.secretsInit);
    assert.equal(result.status, 0, result.stderr);
    const calls = puts().slice(before);
    assert.deepEqual(calls.map((c) => c.argv[c.argv.indexOf('--secret-id') + 1]), [key.arn]);
    assert.equal(current(named('publish-api-key')).length, 1);
  });

  test('rotate puts exactly one new version; the old one stays AWSPREVIOUS', () => {
    const old = current(named('jwt-secret'))[0];
    const before = puts().length;
    const result = run(COMMANDS.secretsRotate);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(puts().length, before + 1);
    const secret = named('jwt-secret');
    assert.equal(current(secret).length, 1);
    assert.notEqual(current(secret)[0].value, old.value);
    assert.deepEqual(secret.versions.find((v) => v.id === old.id)?.stages, ['AWSPREVIOUS']);
  });

  test('a bad environment or secret name fails with a clear error and puts nothing', () => {
    const before = puts().length;
    const badEnv = run('npm run secrets -- init staging');
    assert.equal(badEnv.status, 1);
    assert.match(badEnv.stderr, /unknown environment 'staging' \(known: dev, prod\)/);
    const badName = run('npm run secrets -- rotate dev token');
    assert.equal(badName.status, 1);
    assert.match(badName.stderr, /unknown secret 'token' for chat-dev \(its secrets: jwt-secret, publish-api-key\)/);
    const noName = run('npm run secrets -- rotate dev');
    assert.equal(noName.status, 2);
    assert.match(noName.stderr, /usage: .*rotate ENV NAME/);
    assert.equal(puts().length, before);
  });

  test('tokens mints one user per VU, signed with the current jwt-secret, into a 0600 file', async () => {
    const file = join(sandbox.dir, 'k6-tokens');
    const result = run(COMMANDS.secretsTokens);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const reads = sandbox.calls('aws').filter((c) => c.argv[1] === 'get-secret-value');
    const secret = named('jwt-secret');
    assert.deepEqual(reads.at(-1)!.argv, ['secretsmanager', 'get-secret-value', '--secret-id', secret.arn, '--query', 'SecretString', '--output', 'text']);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const tokens = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.equal(tokens.length, largestScenarioVus());
    const key = new TextEncoder().encode(current(secret)[0].value);
    const { issuer, audience } = environments.dev!.identity;
    const subs = new Set<string>();
    for (const token of tokens.slice(0, 50)) {
      const { payload } = await jwtVerify(token, key, { issuer, audience, algorithms: ['HS256'] });
      assert.deepEqual(payload.rooms, ['lt-*']);
      assert.ok(payload.exp! - payload.iat! <= 2 * 3600);
      subs.add(payload.sub!);
    }
    assert.equal(subs.size, 50, 'each token its own user');
    assert.ok(!result.stdout.includes(tokens[0]!) && !result.stderr.includes(tokens[0]!), 'no token printed');
    rmSync(file);
  });

  test('tokens fails when the jwt-secret has no value, and for an environment without one (JWKS)', () => {
    const secret = named('jwt-secret');
    const saved = readFileSync(join(sandbox.standins, 'aws', 'secrets', `${encodeURIComponent(secret.arn)}.json`), 'utf8');
    sandbox.answer(`aws/secrets/${encodeURIComponent(secret.arn)}.json`, { arn: secret.arn, versions: [] });
    try {
      const empty = run('npm run secrets -- tokens dev k6-tokens');
      assert.equal(empty.status, 1);
      assert.match(empty.stderr, /can't find the specified secret value for staging label: AWSCURRENT/);
      assert.match(empty.stderr, /could not mint load-test tokens .*npm run secrets -- init dev/);
    } finally {
      sandbox.answer(`aws/secrets/${encodeURIComponent(secret.arn)}.json`, saved);
    }
    // A stack verified by a JWKS URL outputs only the publish API key's ARN.
    const fake = join(sandbox.standins, 'terraform-jwks');
    writeFileSync(fake, `#!/usr/bin/env bash\necho '{"identity_secrets":{"value":{"publish-api-key":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:chat-dev/publish-api-key-abc"}}}'\n`);
    chmodSync(fake, 0o755);
    const before = sandbox.calls('aws').length;
    const jwks = sandbox.run('bash', ['-c', 'npm run secrets -- tokens dev k6-tokens'], { env: { AWS_REGION: 'eu-west-1', TERRAFORM_BINARY_NAME: fake } });
    assert.equal(jwks.status, 1, jwks.stderr);
    assert.match(jwks.stderr, /chat-dev has no jwt-secret: its tokens come from an external issuer \(JWKS\); mint load-test tokens with that issuer and pass them with npm run loadtest -- --tokens FILE/);
    assert.equal(sandbox.calls('aws').length, before, 'no secret read');
  });

  test('no value is in any argv, any output or the Terraform state', () => {
    const values = secrets().flatMap((s) => s.versions.map((v) => v.value));
    assert.equal(values.length, 3, "jwt-secret: current and previous; publish-api-key: current");
    const recorded = readFileSync(join(sandbox.standins, 'calls.jsonl'), 'utf8');
    const state = readFileSync(join(sandbox.standins, 's3', foundation.stateBucket, 'chat-dev', 'terraform.tfstate'), 'utf8');
    for (const value of values) {
      assert.ok(!recorded.includes(value), 'not in a recorded argv');
      assert.ok(!output.some((text) => text.includes(value)), 'not in stdout or stderr');
      assert.ok(!state.includes(value), 'not in the state');
    }
  });
});
