// The foundation stack: a state bucket that keeps every version for a while,
// is encrypted with its own key, refuses plain HTTP and the public, and cannot
// be destroyed; the GitHub OIDC provider; per environment a read-only plan role
// and an apply role, each trusted by one repository's one GitHub environment.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { environments } from '../../config/environments.js';
import { FOUNDATION_STATE_KEY, foundation } from '../../config/foundation.js';
import { NONCURRENT_STATE_DAYS } from '../../stacks/foundation.js';
import { only, resources, synthesize, type Json } from './synth.js';

const stack = synthesize(environments, { config: foundation, bootstrap: false }).get('chat-foundation')!.json;
const bootstrap = synthesize(environments, { config: foundation, bootstrap: true }).get('chat-foundation')!.json;
const documents = stack.data.aws_iam_policy_document as Record<string, Json>;
const documentOf = (reference: string) => documents[/^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(reference)![1]];
const role = (name: string) => resources(stack, 'aws_iam_role').find((r) => r.name === name);

describe('foundation: state bucket', () => {
  test('its own state: local on the first apply, then its bucket with the lock file', () => {
    assert.deepEqual(bootstrap.terraform.backend, { local: { path: '../../../terraform.chat-foundation.tfstate' } });
    assert.deepEqual(stack.terraform.backend, { s3: { bucket: foundation.stateBucket, key: FOUNDATION_STATE_KEY, region: foundation.region, encrypt: true, use_lockfile: true } });
  });

  test('versioned, KMS-encrypted, public access blocked, owner-enforced, and never destroyed', () => {
    const bucket = only(stack, 'aws_s3_bucket');
    assert.equal(bucket.bucket, foundation.stateBucket);
    assert.equal(bucket.lifecycle.prevent_destroy, true);
    assert.equal(only(stack, 'aws_s3_bucket_versioning').versioning_configuration.status, 'Enabled');
    const sse = only(stack, 'aws_s3_bucket_server_side_encryption_configuration').rule[0];
    assert.equal(sse.apply_server_side_encryption_by_default.sse_algorithm, 'aws:kms');
    assert.match(sse.apply_server_side_encryption_by_default.kms_master_key_id, /^\$\{aws_kms_key\.state-key.*\.arn\}$/);
    const key = only(stack, 'aws_kms_key');
    assert.equal(key.enable_key_rotation, true);
    assert.equal(key.lifecycle.prevent_destroy, true);
    const block = only(stack, 'aws_s3_bucket_public_access_block');
    for (const setting of ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets']) assert.equal(block[setting], true, setting);
    assert.equal(only(stack, 'aws_s3_bucket_ownership_controls').rule.object_ownership, 'BucketOwnerEnforced');
  });

  test('TLS only: every request without aws:SecureTransport is denied', () => {
    const policy: string = only(stack, 'aws_s3_bucket_policy').policy;
    assert.deepEqual([...policy.matchAll(/"Sid" = "(\w+)"/g)].map((m) => m[1]), ['TlsOnly']);
    assert.match(policy, /"Effect" = "Deny"/);
    assert.match(policy, /"Action" = "s3:\*"/);
    assert.match(policy, /"aws:SecureTransport" = "false"/);
  });

  test('old state versions expire after the recovery window', () => {
    const rule = only(stack, 'aws_s3_bucket_lifecycle_configuration').rule[0];
    assert.equal(rule.status, 'Enabled');
    assert.deepEqual(rule.noncurrent_version_expiration, [{ noncurrent_days: NONCURRENT_STATE_DAYS }]);
  });
});

describe('foundation: GitHub OIDC roles', () => {
  test('one provider for GitHub Actions tokens, audience sts.amazonaws.com', () => {
    const provider = only(stack, 'aws_iam_openid_connect_provider');
    assert.equal(provider.url, 'https://token.actions.githubusercontent.com');
    assert.deepEqual(provider.client_id_list, ['sts.amazonaws.com']);
  });

  for (const name of Object.keys(environments)) {
    test(`${name}: the plan role trusts only environment ${name}-plan, the apply role only ${name}`, () => {
      for (const [purpose, githubEnvironment] of [['plan', `${name}-plan`], ['apply', name]]) {
        const trust = documentOf(role(`chat-${name}-${purpose}`).assume_role_policy).statement[0];
        assert.deepEqual(trust.actions, ['sts:AssumeRoleWithWebIdentity']);
        assert.equal(trust.principals[0].type, 'Federated');
        assert.deepEqual(
          trust.condition.find((c: Json) => c.variable.endsWith(':sub')),
          { test: 'StringEquals', variable: 'token.actions.githubusercontent.com:sub', values: [`repo:${foundation.githubRepository}:environment:${githubEnvironment}`] },
        );
        assert.ok(trust.condition.some((c: Json) => c.variable.endsWith(':aud') && c.values[0] === 'sts.amazonaws.com'));
      }
    });

    test(`${name}: the plan role reads; of the state it may write only the lock file`, () => {
      const attached = resources(stack, 'aws_iam_role_policy_attachment').filter((a) => a.role.includes(`chat-${name}-plan`));
      assert.deepEqual(attached.map((a) => a.policy_arn.split('/').at(-1)), ['ReadOnlyAccess']);
      const policy = resources(stack, 'aws_iam_role_policy').find((p) => p.role.includes(`chat-${name}-plan`));
      const writes = documentOf(policy.policy).statement.filter((s: Json) => s.actions.some((a: string) => a === 's3:PutObject'));
      const bucket = `aws_s3_bucket.${Object.keys(stack.resource.aws_s3_bucket)[0]}`;
    assert.deepEqual(writes.flatMap((s: Json) => s.resources), [`\${${bucket}.arn}/chat-${name}/terraform.tfstate.tflock`]);
    });
  }
});
