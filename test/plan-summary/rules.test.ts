// Every rule of the plan review, on a plan that must warn and a near miss
// that must not. The plans are `terraform show -json` format 1.2, written by
// hand (fixtures/rules/<rule>.json and <rule>.near-miss.json). Each positive
// plan is caught by its own rule alone: run without that rule, nothing flags it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePlan } from '../../tools/plan-summary/plan.js';
import { findRisks, type Risk } from '../../tools/plan-summary/risks.js';
import { RULES } from '../../tools/plan-summary/rules.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'rules');
/** An account the fixtures trust through --known-account rather than through the plan itself. */
const KNOWN = ['444455556666'];
const load = (name: string) => parsePlan(readFileSync(join(FIXTURES, name), 'utf8'), name);
const rows = (risks: Risk[]) => risks.map((r): [string, string] => [r.address, r.detail]);

/** What each rule must find in its positive fixture: [address, detail], in plan order. */
const EXPECTED: Record<string, Array<[string, string]>> = {
  'iam-wildcard': [
    ['aws_iam_policy.deployer', 'statement EverythingButIam allows every action except iam:*, organizations:*'],
    ['aws_iam_role_policy.instance', 'statement Debug allows wildcard action *'],
    ['aws_iam_role_policy.instance', 'statement Debug applies to wildcard resource * (*)'],
  ],
  'trust-open': [
    ['aws_iam_role.deploy', 'trust policy: statement #1 trusts GitHub OIDC tokens without a `sub` condition pinned to one repository'],
    ['aws_iam_role.support', 'trust policy: statement VendorSupport trusts account 999988887777, not a known account (known: 111122223333, 444455556666)'],
    ['aws_iam_role.support', 'trust policy: statement Anyone is open to any principal ("*")'],
  ],
  'resource-policy-open': [
    ['aws_kms_key.chat', 'resource policy: statement DecryptForAll is open to any principal ("*")'],
    ['aws_s3_bucket_policy.exports', 'resource policy: statement PublicRead is open to any principal ("*")'],
  ],
  'policy-unknown': [['aws_iam_role_policy.instance', '`policy` is known only after apply: review it in the code']],
  'kms-key-loss': [
    ['aws_kms_key.chat', 'deletes a KMS key (removed from the configuration): it is scheduled for deletion in 7 days and everything encrypted with it becomes unreadable'],
    ['aws_kms_key.logs', 'turns the KMS key rotation off'],
    ['aws_kms_key.logs', 'disables the KMS key: nothing encrypted with it can be read until it is enabled'],
  ],
  'secret-deletion': [
    ['aws_secretsmanager_secret.auth', 'replaces a secret (forced by `name`) with no recovery window: it cannot be restored'],
    ['aws_secretsmanager_secret_version.legacy', 'deletes a secret value (removed from the configuration)'],
  ],
  'deletion-protection-off': [
    ['aws_lb.alb', 'turns deletion protection off (enable_deletion_protection: true → false)'],
    ['module.foundation.aws_s3_bucket.state', 'turns force_destroy on: a destroy also deletes everything in it (force_destroy)'],
  ],
  'snapshot-removed': [
    ['aws_elasticache_replication_group.cache', 'drops the final snapshot (final_snapshot_identifier: "chat-prod-final" → null): deleting it keeps no copy'],
    ['aws_elasticache_replication_group.cache', 'turns automatic backups off (snapshot_retention_limit: 7 → 0)'],
  ],
  'imds-tokens-optional': [
    ['aws_launch_template.service', 'makes IMDS tokens optional (metadata_options.0.http_tokens = "optional"): IMDSv1 answers without a token'],
  ],
  'tls-policy-downgrade': [
    ['aws_lb_listener.https', 'downgrades the TLS policy: ELBSecurityPolicy-TLS13-1-2-2021-06 → ELBSecurityPolicy-TLS13-1-0-2021-06'],
    ['aws_lb_listener.metrics', 'stops encrypting: protocol "HTTPS" → "HTTP"'],
  ],
  'waf-removed': [
    ['aws_wafv2_web_acl_association.alb', 'removes the WAF from arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/chat-prod/50dc6c495c0c9188 (removed from the configuration)'],
    ['aws_wafv2_web_acl.alb', 'removes WAF rule rate-per-ip'],
    ['aws_wafv2_web_acl.alb', 'switches WAF rule aws-common to count only (was none)'],
  ],
  'ingress-wide': [
    ['aws_security_group.admin', 'ingress from 128.0.0.0/2 on port 22/tcp'],
    ['aws_security_group_rule.instances_v6', 'ingress from 2000::/3 on port 8080/tcp'],
    ['aws_vpc_security_group_ingress_rule.alb_8443', 'ingress from 0.0.0.0/0 on port 8443/tcp'],
    ['aws_vpc_security_group_ingress_rule.cache', 'ingress from 0.0.0.0/1 on port 6379/tcp'],
  ],
  'encryption-downgrade': [
    ['aws_cloudwatch_log_group.service', 'turns encryption off (kms_key_id: removed)'],
    ['aws_elasticache_replication_group.cache', 'downgrades encryption (transit_encryption_mode: "required" → "preferred")'],
    ['aws_s3_bucket_server_side_encryption_configuration.exports', 'turns encryption off (rule.0.apply_server_side_encryption_by_default.0.kms_master_key_id: removed)'],
    ['aws_s3_bucket_server_side_encryption_configuration.exports', 'downgrades encryption (rule.0.apply_server_side_encryption_by_default.0.sse_algorithm: "aws:kms" → "AES256")'],
  ],
  'stateful-destroyed': [
    ['module.cache.aws_elasticache_replication_group.this', 'replaces the cache (forced by `replication_group_id`): history and presence are lost, every instance reconnects'],
    ['aws_cloudwatch_log_group.flow', 'deletes a log group (removed from the configuration): the logs in it are lost'],
    ['aws_s3_bucket.exports', 'deletes an S3 bucket (removed from the configuration): every object in it is lost'],
  ],
  'user-facing-destroyed': [
    ['aws_lb.alb', 'replaces the load balancer (forced by `name`): every client disconnects, its DNS name changes'],
    ['aws_route53_record.alias_aaaa', 'deletes a DNS record (removed from the configuration): clients resolving it fail until it is back'],
  ],
  forget: [
    ['aws_iam_role.flow_logs', 'is replaced and the old object forgotten: it keeps running, unmanaged'],
    ['aws_route53_zone.public', 'is forgotten: removed from state but left running, no longer managed (and still billed)'],
  ],
  'lb-scheme-flip': [['aws_lb.alb', 'turns internet-facing → internal: clients on the internet can no longer reach it']],
  'credential-replaced': [
    ['aws_elasticache_replication_group.cache', 'changes the cache AUTH token (auth_token_update_strategy "ROTATE"): clients with the old token are refused once it is dropped'],
    ['random_password.cache_auth', 'replaces a generated password (forced by `keepers`): everything holding the old value must pick up the new one'],
  ],
  'instance-refresh': [
    ['aws_autoscaling_group.service', 'starts an instance refresh (launch_template changed): every instance is replaced, keeping 100% healthy'],
  ],
};

/** Findings of other rules that the same change rightly raises: [rule, address]. */
const ALSO: Record<string, Array<[string, string]>> = {
  // Flipping `internal` forces a new load balancer.
  'lb-scheme-flip': [['user-facing-destroyed', 'aws_lb.alb']],
};

describe('plan review rules', () => {
  it('have unique ids, and each has expectations here', () => {
    const ids = RULES.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(Object.keys(EXPECTED).sort(), [...ids].sort());
  });

  for (const rule of RULES) {
    describe(rule.id, () => {
      it(`finds what it is for (${rule.severity}), and nothing else`, () => {
        const risks = findRisks(load(`${rule.id}.json`), { knownAccounts: KNOWN });
        const mine = risks.filter((r) => r.rule === rule.id);
        assert.ok(mine.every((r) => r.severity === rule.severity));
        assert.deepEqual(rows(mine), EXPECTED[rule.id]);
        const others = risks.filter((r) => r.rule !== rule.id).map((r) => [r.rule, r.address]);
        assert.deepEqual(others, ALSO[rule.id] ?? []);
      });
      it('is the rule that catches it: without it, its findings are gone', () => {
        const without = findRisks(load(`${rule.id}.json`), { knownAccounts: KNOWN, rules: RULES.filter((r) => r !== rule) });
        assert.deepEqual(
          without.map((r) => [r.rule, r.address]),
          ALSO[rule.id] ?? [],
        );
      });
      it('stays quiet on the near miss', () => {
        assert.deepEqual(rows(findRisks(load(`${rule.id}.near-miss.json`), { knownAccounts: KNOWN })), []);
      });
    });
  }
});
