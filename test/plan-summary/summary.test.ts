import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePlan, PlanError } from '../../tools/plan-summary/plan.js';
import { findRisks } from '../../tools/plan-summary/risks.js';
import { renderSummary } from '../../tools/plan-summary/render.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const load = (name: string) => parsePlan(readFileSync(join(FIXTURES, name), 'utf8'), name);
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'tools/plan-summary/cli.ts', ...args], { encoding: 'utf8' });

describe('reading a plan', () => {
  it('maps terraform actions, including both replace orders', () => {
    const plan = load('destructive.json');
    assert.deepEqual(
      plan.changes.map((c) => c.action),
      ['replace', 'delete', 'replace', 'replace', 'delete', 'delete'],
    );
  });
  it('refuses what is not a plan, saying what it is', () => {
    assert.throws(() => load('not-json.txt'), (e: Error) => e instanceof PlanError && /not JSON/.test(e.message));
    assert.throws(() => load('state.json'), /looks like state/);
    assert.throws(() => load('bad-changes.json'), /resource_changes must be a list/);
    assert.throws(() => parsePlan('[]'), /no format_version/);
  });
});

describe('risks', () => {
  it('ignores routine changes, web ports open to the world, and reads', () => {
    assert.deepEqual(findRisks(load('routine.json').changes), []);
  });
  it('flags replacing or deleting the cache, load balancer, ASG, certificate and DNS, but not a log group', () => {
    const risks = findRisks(load('destructive.json').changes);
    assert.deepEqual(
      risks.map((r) => [r.address, r.kind]),
      [
        ['module.cache.aws_elasticache_replication_group.this', 'destroys'],
        ['aws_lb.alb', 'destroys'],
        ['aws_autoscaling_group.service', 'destroys'],
        ['aws_acm_certificate.site', 'destroys'],
        ['aws_route53_record.alias_a', 'destroys'],
      ],
    );
    assert.match(risks[0].detail, /^replaces the cache/);
    assert.match(risks[1].detail, /^deletes the load balancer/);
  });
  it('flags ingress from 0.0.0.0/0 or ::/0 on any port but 80 and 443, in all three rule styles', () => {
    const risks = findRisks(load('open-to-world.json').changes);
    assert.deepEqual(
      risks.map((r) => [r.address, r.detail]),
      [
        ['aws_security_group_rule.ssh', 'ingress from 0.0.0.0/0 on port 22'],
        ['aws_vpc_security_group_ingress_rule.everything_v6', 'ingress from ::/0 on all ports'],
        ['aws_security_group.service', 'ingress from 0.0.0.0/0 on ports 8000-8100'],
      ],
    );
  });
  it('flags encryption turned off, and a KMS key removed, wherever it sits', () => {
    const risks = findRisks(load('encryption-off.json').changes);
    assert.deepEqual(
      risks.map((r) => [r.address, r.detail]),
      [
        ['aws_elasticache_replication_group.cache', 'turns encryption off (transit_encryption_enabled: true → false)'],
        ['aws_elasticache_replication_group.cache', 'turns encryption off (kms_key_id: removed)'],
        ['aws_launch_template.service', 'turns encryption off (block_device_mappings.0.ebs.0.encrypted: true → false)'],
      ],
    );
  });
});

describe('values known only after apply', () => {
  it('does not take a KMS key being replaced for a key removed', () => {
    const plan = load('rekey.json');
    assert.equal(plan.changes.find((c) => c.address === 'aws_secretsmanager_secret.auth')?.afterUnknown.kms_key_id, true);
    assert.deepEqual(findRisks(plan.changes), []);
  });
});

describe('rendering', () => {
  it('puts warnings first, then counts per type, then every changed resource', () => {
    const plan = load('destructive.json');
    const text = renderSummary(plan, findRisks(plan.changes), 'chat-dev');
    const warning = text.indexOf('[!WARNING]');
    const table = text.indexOf('| resource type |');
    const list = text.indexOf('Every changed resource');
    assert.ok(warning > 0 && warning < table && table < list);
    assert.match(text, /\*\*0 to create, 0 to update, 3 to replace, 3 to delete\*\*/);
    assert.match(text, /\| `aws_elasticache_replication_group` \| {2}\| {2}\| 1 \| {2}\|/);
    assert.match(text, /^- -\/\+ replace module\.cache\.aws_elasticache_replication_group\.this$/m);
    assert.match(text, /^- - {3}delete {2}aws_lb\.alb$/m);
  });
  it('lists a forgotten resource and the outputs that change, without counting them as changes', () => {
    const plan = load('rekey.json');
    assert.deepEqual(plan.changedOutputs, ['cache_endpoint']);
    const text = renderSummary(plan, findRisks(plan.changes));
    assert.match(text, /\*\*0 to create, 2 to update, 1 to replace, 0 to delete; 1 to forget \(removed from state, left running\)\*\*/);
    assert.match(text, /^! \. {3}forget {2}aws_cloudwatch_log_group\.legacy$/m);
    assert.doesNotMatch(text, /aws_cloudwatch_log_group` \|/);
    assert.match(text, /^Outputs that change: `cache_endpoint`\.$/m);
  });
  it('names the outputs when only outputs change', () => {
    const text = renderSummary(load('outputs-only.json'), []);
    assert.match(text, /No resource changes\. Outputs that change: `websocket_url`\./);
  });
  it('says "No changes" for an empty plan', () => {
    for (const name of ['empty.json', 'no-changes-key.json']) {
      assert.match(renderSummary(load(name), []), /No changes\./);
    }
  });
});

describe('plan:summary command', () => {
  it('prints Markdown and exits 0', () => {
    const result = cli(join(FIXTURES, 'routine.json'), '--title', 'chat-prod');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^### chat-prod/);
    assert.doesNotMatch(result.stdout, /WARNING/);
  });
  it('exits 0 with a no-changes line for an empty plan', () => {
    const result = cli(join(FIXTURES, 'empty.json'));
    assert.equal(result.status, 0);
    assert.match(result.stdout, /No changes/);
  });
  it('exits non-zero with a clear error for a file that is not a plan, or is missing', () => {
    for (const [file, message] of [
      ['not-json.txt', /is not JSON/],
      ['state.json', /not a Terraform plan/],
      ['missing.json', /cannot read .*ENOENT/],
    ] as const) {
      const result = cli(join(FIXTURES, file));
      assert.notEqual(result.status, 0, file);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    }
  });
  it('runs as the npm script the workflow calls', () => {
    const result = spawnSync('npm', ['run', '--silent', 'plan:summary', '--', join(FIXTURES, 'open-to-world.json')], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /3 risky changes/);
  });
});

describe('CONTRIBUTING.md', () => {
  it('shows a plan comment exactly as the summarizer renders it today', () => {
    const doc = readFileSync('CONTRIBUTING.md', 'utf8');
    const example = /<!-- plan-summary-example:start -->\n([\s\S]*)<!-- plan-summary-example:end -->/.exec(doc)?.[1];
    assert.ok(example, 'the example block is there');
    const plan = load('destructive.json');
    assert.equal(example, renderSummary(plan, findRisks(plan.changes), 'chat-prod'));
  });
});
