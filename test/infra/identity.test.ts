// The deployed identity: AUTH_MODE=jwt with its HS256 secret and the publish
// API key in Secrets Manager (created empty: no value in the state or the plan;
// npm run secrets puts them) and read at boot by reference, the
// development token endpoint never on, and the publish API refused by the
// ALB except from configured ranges. A variant covers JWKS mode.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { environments } from '../../config/environments.js';
import type { EnvironmentConfig } from '../../config/types.js';
import { validateEnvironments } from '../../config/validate.js';
import { SECRET_WAIT } from '../../stacks/identity.js';
import { PUBLISH_API_RULE_PRIORITIES } from '../../stacks/publish-api-rule.js';
import { addressOf, only, resources, synthesize, type Json } from './synth.js';

const jwks: EnvironmentConfig = {
  ...environments.dev,
  name: 'jwks',
  state: { backend: 's3', bucket: 'chat-state-123456789012', key: 'chat/jwks.tfstate', region: 'eu-west-1' },
  identity: { issuer: 'https://auth.example.com/', audience: 'chat', jwksUrl: 'https://auth.example.com/.well-known/jwks.json', publishApi: { allowedCidrs: ['10.99.0.0/16'] } },
};
const stacks = synthesize({ dev: environments.dev, prod: environments.prod, jwks });
const dev = stacks.get('chat-dev')!.json;
const variant = stacks.get('chat-jwks')!.json;

const secretNamed = (stack: Json, part: string) => {
  const entries = Object.entries(stack.resource.aws_secretsmanager_secret as Record<string, Json>).filter(([key]) => key.includes(part));
  return entries.length === 1 ? entries[0][1] : undefined;
};
const userData = (stack: Json): string => only(stack, 'aws_launch_template').user_data;

describe('identity in the stacks', () => {
  for (const name of ['dev', 'prod']) {
    test(`${name}: AUTH_MODE=jwt with the secret and the API key read from Secrets Manager at boot`, () => {
      const stack = stacks.get(`chat-${name}`)!.json;
      const script = userData(stack);
      const env = environments[name].identity;
      for (const line of ['AUTH_MODE=jwt\\n', `AUTH_ISSUER=${env.issuer}\\n`, `AUTH_AUDIENCE=${env.audience}\\n`, 'AUTH_JWT_SECRET=$AUTH_JWT_SECRET\\n', 'PUBLISH_API_KEY=$PUBLISH_API_KEY\\n']) {
        assert.ok(script.includes(line), `user data writes ${line}`);
      }
      for (const secret of ['jwt-secret', 'publish-api-key']) {
        const found = secretNamed(stack, secret);
        assert.ok(found, `a secret ${secret}`);
        assert.equal(found.kms_key_id, `\${${addressOf(stack, 'aws_kms_key', only(stack, 'aws_kms_key'))}.arn}`, 'encrypted with the stack key');
        // Read by reference at boot; the value never enters the launch template.
        assert.ok(script.includes(`${addressOf(stack, 'aws_secretsmanager_secret', found)}.arn`));
      }
      // A new environment's instances boot before npm run secrets -- init has put the values: they wait.
      for (const name of ['AUTH_JWT_SECRET', 'PUBLISH_API_KEY']) assert.ok(script.includes(`until ${name}=$(aws secretsmanager get-secret-value`), `${name} read until it has a value`);
      assert.ok(script.includes(`(( SECONDS < ${SECRET_WAIT.timeoutSeconds} ))`) && script.includes(`sleep ${SECRET_WAIT.pollSeconds}`));
      // npm run secrets finds them by name through this output.
      assert.deepEqual(stack.output.identity_secrets.value, {
        'jwt-secret': `\${${addressOf(stack, 'aws_secretsmanager_secret', secretNamed(stack, 'jwt-secret')!)}.arn}`,
        'publish-api-key': `\${${addressOf(stack, 'aws_secretsmanager_secret', secretNamed(stack, 'publish-api-key')!)}.arn}`,
      });
    });

    test(`${name}: the development token endpoint is never enabled`, () => {
      const stack = stacks.get(`chat-${name}`)!.json;
      assert.doesNotMatch(userData(stack), /AUTH_DEV_TOKENS/);
      assert.doesNotMatch(JSON.stringify(stack), /AUTH_DEV_TOKENS|\/dev\/token/);
    });
  }

  // The plan role reads the state and the plan: a value there would let anyone who opens a
  // pull request mint tokens for any user. The values are put by npm run secrets instead.
  for (const [stackName, { json }] of stacks) {
    test(`${stackName}: no resource holds a secret value (no generated password, no secret version, no secret_string)`, () => {
      for (const type of ['random_password', 'random_string', 'random_bytes', 'random_id', 'aws_secretsmanager_secret_version']) {
        assert.deepEqual(Object.keys(json.resource[type] ?? {}), [], type);
      }
      assert.equal(json.terraform.required_providers?.random, undefined, 'no random provider');
      assert.doesNotMatch(JSON.stringify(json), /secret_string|secret_binary|random_password/);
    });
  }

  test('the ALB refuses /api/* with 404 unless the source is allowed', () => {
    const apiRules = (stack: Json) => resources(stack, 'aws_lb_listener_rule').filter((r: Json) => r.condition[0].path_pattern?.values[0] === '/api/*');
    const rules = apiRules(dev);
    assert.equal(rules.length, 1, 'no allowed ranges: only the refusal');
    const [refuse] = rules;
    assert.equal(refuse.listener_arn, `\${${addressOf(dev, 'aws_lb_listener', resources(dev, 'aws_lb_listener').find((l: Json) => l.port === 443))}.arn}`);
    assert.deepEqual(refuse.condition, [{ path_pattern: { values: ['/api/*'] } }]);
    assert.equal(refuse.action[0].type, 'fixed-response');
    assert.equal(refuse.action[0].fixed_response.status_code, '404');

    const variantRules = apiRules(variant).sort((a: Json, b: Json) => a.priority - b.priority);
    assert.deepEqual(variantRules.map((r: Json) => [r.priority, r.action[0].type]), [
      [PUBLISH_API_RULE_PRIORITIES.allow, 'forward'],
      [PUBLISH_API_RULE_PRIORITIES.refuse, 'fixed-response'],
    ]);
    assert.deepEqual(variantRules[0].condition, [{ path_pattern: { values: ['/api/*'] } }, { source_ip: { values: ['10.99.0.0/16'] } }]);
  });

  test('JWKS mode: no HS256 secret; the instances get the key set URL', () => {
    const script = userData(variant);
    assert.ok(script.includes('AUTH_JWKS_URL=https://auth.example.com/.well-known/jwks.json\\n'));
    assert.doesNotMatch(script, /AUTH_JWT_SECRET/);
    assert.equal(secretNamed(variant, 'jwt-secret'), undefined);
    assert.ok(secretNamed(variant, 'publish-api-key'));
    assert.deepEqual(Object.keys(variant.output.identity_secrets.value), ['publish-api-key']);
  });
});

describe('identity configuration', () => {
  const devWith = (change: (env: Record<string, any>) => void) => {
    const copy = JSON.parse(JSON.stringify(environments.dev)) as Record<string, any>;
    change(copy);
    return { dev: copy };
  };
  const problemsOf = (raw: Record<string, unknown>): string => {
    try {
      validateEnvironments(raw);
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  };
  const cases: Array<[string, (env: Record<string, any>) => void, RegExp]> = [
    ['the development token endpoint in serviceEnv', (e) => (e.compute.serviceEnv = { AUTH_DEV_TOKENS: '1' }), /dev\.compute\.serviceEnv\.AUTH_DEV_TOKENS: is set by the stack itself/],
    ['AUTH_MODE in serviceEnv', (e) => (e.compute.serviceEnv = { AUTH_MODE: 'none' }), /dev\.compute\.serviceEnv\.AUTH_MODE: is set by the stack itself/],
    ['no identity section', (e) => delete e.identity, /dev\.identity: is missing/],
    ['no issuer', (e) => delete e.identity.issuer, /dev\.identity\.issuer: is missing/],
    ['a JWKS URL over http', (e) => (e.identity.jwksUrl = 'http://auth.example.com/jwks'), /dev\.identity\.jwksUrl: must be an https:\/\/ URL/],
    ['a range that is not a CIDR', (e) => (e.identity.publishApi = { allowedCidrs: ['everyone'] }), /dev\.identity\.publishApi\.allowedCidrs: must be a list of IPv4 CIDR ranges/],
  ];
  for (const [what, change, expected] of cases) {
    test(`refuses ${what}`, () => assert.match(problemsOf(devWith(change)), expected));
  }
});
