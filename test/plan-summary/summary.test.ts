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

describe('reading the format 1.2 fields', () => {
  it('keeps replace_paths, action_reason, drift and the configuration references', () => {
    const plan = load('destructive.json');
    const cache = plan.changes[0];
    assert.deepEqual(cache.replacePaths, [['at_rest_encryption_enabled']]);
    assert.equal(cache.actionReason, 'replace_because_cannot_update');
    assert.equal(cache.configAddress, 'module.cache.aws_elasticache_replication_group.this');
    assert.ok(plan.expressions.has('module.cache.aws_elasticache_replication_group.this'));
    assert.deepEqual(load('routine.json').drifted, ['aws_cloudwatch_log_group.service']);
  });
  it('refuses a plan format of another major version', () => {
    assert.throws(() => parsePlan('{"format_version":"2.0","planned_values":{}}', 'next.json'), /plan format 2\.0 is not supported/);
  });
});

describe('risks of whole plans', () => {
  it('finds nothing in routine changes: tags, an alarm threshold, HTTPS on the load balancer\'s own group, a data source read', () => {
    assert.deepEqual(findRisks(load('routine.json')), []);
  });
  it('flags replacing or deleting the cache, load balancer, ASG, certificate, DNS record and log group, saying what forced it', () => {
    const risks = findRisks(load('destructive.json'));
    assert.deepEqual(
      risks.map((r) => [r.address, r.rule]),
      [
        ['module.cache.aws_elasticache_replication_group.this', 'stateful-destroyed'],
        ['aws_lb.alb', 'user-facing-destroyed'],
        ['aws_autoscaling_group.service', 'user-facing-destroyed'],
        ['aws_acm_certificate.site', 'user-facing-destroyed'],
        ['aws_route53_record.alias_a', 'user-facing-destroyed'],
        ['aws_cloudwatch_log_group.service', 'stateful-destroyed'],
      ],
    );
    assert.match(risks[0].detail, /^replaces the cache \(forced by `at_rest_encryption_enabled`\): history and presence are lost/);
    assert.match(risks[1].detail, /^deletes the load balancer \(removed from the configuration\): every client disconnects/);
  });
});

describe('values known only after apply', () => {
  it('does not take a KMS key being replaced for a key removed, but warns about the key itself and the forgotten log group', () => {
    const plan = load('rekey.json');
    assert.equal(plan.changes.find((c) => c.address === 'aws_secretsmanager_secret.auth')?.afterUnknown.kms_key_id, true);
    assert.deepEqual(
      findRisks(plan).map((r) => [r.rule, r.address]),
      [
        ['kms-key-loss', 'aws_kms_key.secrets'],
        ['forget', 'aws_cloudwatch_log_group.legacy'],
      ],
    );
  });
});

describe('rendering', () => {
  it('puts warnings first, then counts per type, then every changed resource', () => {
    const plan = load('destructive.json');
    const text = renderSummary(plan, findRisks(plan), 'chat-dev');
    const warning = text.indexOf('[!WARNING]');
    const table = text.indexOf('| resource type |');
    const list = text.indexOf('Every changed resource');
    assert.ok(warning > 0 && warning < table && table < list);
    assert.match(text, /\*\*0 to create, 0 to update, 3 to replace, 3 to delete\*\*/);
    assert.match(text, /6 risky changes: read before approving/);
    assert.match(text, /\| `aws_elasticache_replication_group` \| {2}\| {2}\| 1 \| {2}\|/);
    assert.match(text, /^- -\/\+ replace module\.cache\.aws_elasticache_replication_group\.this$/m);
    assert.match(text, /^- - {3}delete {2}aws_lb\.alb$/m);
  });
  it('lists a forgotten resource and the outputs that change, without counting them as changes', () => {
    const plan = load('rekey.json');
    assert.deepEqual(plan.changedOutputs, ['cache_endpoint']);
    const text = renderSummary(plan, findRisks(plan));
    assert.match(text, /\*\*0 to create, 2 to update, 1 to replace, 0 to delete; 1 to forget \(removed from state, left running\)\*\*/);
    assert.match(text, /^! \. {3}forget {2}aws_cloudwatch_log_group\.legacy$/m);
    assert.doesNotMatch(text, /aws_cloudwatch_log_group` \|/);
    assert.match(text, /^Outputs that change: `cache_endpoint`\.$/m);
  });
  it('lists notices after the warnings, and the resources changed outside Terraform', () => {
    const refresh = load('rules/instance-refresh.json');
    const text = renderSummary(refresh, findRisks(refresh));
    assert.doesNotMatch(text, /WARNING/);
    assert.match(text, /> \[!NOTE\]\n> \*\*1 notice:\*\*\n> - `aws_autoscaling_group\.service` starts an instance refresh/);
    const both = load('rules/lb-scheme-flip.json');
    const flip = renderSummary(both, [...findRisks(both), ...findRisks(refresh)]);
    assert.ok(flip.indexOf('[!WARNING]') < flip.indexOf('[!NOTE]') && flip.indexOf('[!NOTE]') < flip.indexOf('| resource type |'));
    assert.match(renderSummary(load('routine.json'), []), /^Changed outside Terraform since the last apply: `aws_cloudwatch_log_group\.service`\.$/m);
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
    const result = spawnSync('npm', ['run', '--silent', 'plan:summary', '--', join(FIXTURES, 'rules', 'ingress-wide.json')], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /4 risky changes/);
  });
  it('trusts the accounts given with --known-account, and refuses one that is not an account id', () => {
    const plan = join(FIXTURES, 'rules', 'trust-open.near-miss.json');
    const unknown = cli(plan);
    assert.equal(unknown.status, 0, unknown.stderr);
    assert.match(unknown.stdout, /trusts account 444455556666, not a known account \(known: 111122223333\)/);
    const known = cli(plan, '--known-account', '444455556666');
    assert.equal(known.status, 0, known.stderr);
    assert.doesNotMatch(known.stdout, /WARNING/);
    const bad = cli(plan, '--known-account', 'ops');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--known-account must be a 12-digit AWS account id \(got ops\)/);
  });
});

describe('CONTRIBUTING.md', () => {
  it('shows a plan comment exactly as the summarizer renders it today', () => {
    const doc = readFileSync('CONTRIBUTING.md', 'utf8');
    const example = /<!-- plan-summary-example:start -->\n([\s\S]*)<!-- plan-summary-example:end -->/.exec(doc)?.[1];
    assert.ok(example, 'the example block is there');
    const plan = load('destructive.json');
    assert.equal(example, renderSummary(plan, findRisks(plan), 'chat-prod'));
  });
});
