// The delivery workflows run step by step (test/workflows/runner.ts) against the
// recording stand-ins of terraform, gh, aws and npm: the pull request saves each
// environment's plan as the artifact plan-<env>-<sha>, the deploy applies exactly
// that plan file (a stale one fails, nothing is re-planned) and fills the empty
// identity secrets outside Terraform, prod is refused
// without required reviewers, k6 is told how many instances to reach after the
// instance refresh, and the nightly drift job fails with the summary.
// The `test` and `policy` jobs are not driven here: they are `npm test` itself
// and the Checkov scan (test/infra/checkov.test.ts).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { environments } from '../../config/environments.js';
import { foundation } from '../../config/foundation.js';
import { SCENARIOS } from '../../loadtest/lib/scenarios.js';
import { createSandbox, type Sandbox } from '../infra/sandbox.js';
import { describe as explain, readWorkflow, runJob, type Contexts, type JobResult } from './runner.js';

const SHA = 'c0ffee0000000000000000000000000000000001';
const REPO = 'example-org/chat-platform';
const vars = { AWS_REGION: 'eu-west-1', AWS_PLAN_ROLE_ARN: 'arn:aws:iam::123456789012:role/chat-dev-plan', AWS_APPLY_ROLE_ARN: 'arn:aws:iam::123456789012:role/chat-dev-apply' };
const github = (event: string, sha = SHA) => ({
  sha,
  repository: REPO,
  event_name: event,
  token: 'test-token',
  event: { pull_request: { number: 7, head: { repo: { full_name: REPO } } } },
});
const REVIEWERS = { name: 'prod', protection_rules: [{ id: 1, type: 'required_reviewers', reviewers: [{ type: 'Team', reviewer: { slug: 'infra' } }] }] };

function ok(result: JobResult): void {
  assert.ok(result.success, explain(result));
}

/** Runs the jobs of deploy.yml's call of deploy-environment.yml for one environment. */
function deployEnvironment(sandbox: Sandbox, environment: string, contexts: Partial<Contexts> = {}): JobResult[] {
  const caller = readWorkflow(sandbox.dir, 'deploy.yml');
  const call = Object.values(caller.jobs as Record<string, any>).find((j) => j.with?.environment === environment);
  assert.equal(call.uses, './.github/workflows/deploy-environment.yml');
  const workflow = readWorkflow(sandbox.dir, 'deploy-environment.yml');
  const results: JobResult[] = [];
  for (const job of ['guard', 'deploy']) {
    const result = runJob(sandbox, workflow, job, { contexts: { github: github('push'), vars, inputs: call.with, ...contexts } });
    results.push(result);
    if (!result.success) break;
  }
  return results;
}

describe('delivery workflows through the stand-ins', () => {
  let sandbox: Sandbox;
  before(() => {
    sandbox = createSandbox();
    sandbox.bucket(foundation.stateBucket);
  });
  after(() => sandbox.remove());

  const planFiles = new Map<string, string>();

  test('pull request: each environment planned with the read-only role into plan-<env>-<sha>', () => {
    const workflow = readWorkflow(sandbox.dir, 'pull-request.yml');
    assert.deepEqual(workflow.jobs.plan.strategy.matrix.environment, ['dev', 'prod']);
    for (const environment of ['dev', 'prod']) {
      const before = sandbox.calls('terraform').length;
      const result = runJob(sandbox, workflow, 'plan', { contexts: { github: github('pull_request'), vars, matrix: { environment } }, runId: 11 });
      ok(result);
      assert.equal(result.environment, `${environment}-plan`, 'the plan role trusts this GitHub environment');
      const credentials = result.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials'))!;
      assert.equal(credentials.with?.['role-to-assume'], vars.AWS_PLAN_ROLE_ARN);

      const calls = sandbox.calls('terraform').slice(before);
      assert.deepEqual(calls.map((c) => c.argv.slice(1).join(' ')), [
        'init -input=false -no-color',
        'plan -input=false -no-color -detailed-exitcode -out=tfplan',
        'show -json tfplan',
      ]);
      assert.ok(calls.every((c) => c.argv[0] === `-chdir=cdktf.out/stacks/chat-${environment}`));
      assert.deepEqual(calls[0].backend, {
        type: 's3',
        settings: { bucket: foundation.stateBucket, key: `chat-${environment}/terraform.tfstate`, region: foundation.region, encrypt: true, use_lockfile: true },
      });
      assert.equal(calls[1].exitCode, 2, 'changes to apply');
      assert.equal(calls[1].lockFile, `s3/${foundation.stateBucket}/chat-${environment}/terraform.tfstate.tflock`, 'the plan takes the state lock');
      assert.equal(calls[1].env?.TF_IN_AUTOMATION, '1');
      assert.equal(calls[2].planFile?.sha256, calls[1].planFile?.sha256, 'show -json reads the plan file just written');

      const artifact = join(sandbox.standins, 'artifacts', `plan-${environment}-${SHA}`, 'files');
      assert.deepEqual(readdirSync(artifact).sort(), ['meta.json', 'plan.json', 'summary.md', 'terraform.lock.hcl', 'tfplan']);
      const plan = JSON.parse(readFileSync(join(artifact, 'plan.json'), 'utf8'));
      assert.equal(plan.format_version, '1.2');
      assert.ok(plan.resource_changes.some((c: any) => c.type === 'aws_elasticache_replication_group' && c.change.actions[0] === 'create'));
      const meta = JSON.parse(readFileSync(join(artifact, 'meta.json'), 'utf8'));
      assert.deepEqual({ ...meta, config_sha256: undefined }, { environment, stack: `chat-${environment}`, commit: SHA, config_sha256: undefined, changes: true });
      assert.match(readFileSync(join(artifact, 'summary.md'), 'utf8'), new RegExp(`chat-${environment}`));
      planFiles.set(environment, calls[1].planFile!.sha256);
    }
  });

  test('pull request: one sticky comment holds every environment summary', () => {
    const workflow = readWorkflow(sandbox.dir, 'pull-request.yml');
    const result = runJob(sandbox, workflow, 'comment', { contexts: { github: github('pull_request'), vars } });
    ok(result);
    const comment = readFileSync(join(sandbox.dir, 'plan-comment.md'), 'utf8');
    assert.match(comment, /^<!-- chat-plan-summary -->\n## Infrastructure plan for c0ffee0/);
    assert.match(comment, /chat-dev[\s\S]*chat-prod/);
    assert.equal(runJob(sandbox, workflow, 'comment', { contexts: { github: github('merge_group'), vars } }).steps.length, 0, 'no comment in the merge queue');
  });

  test('deploy dev: applies exactly the reviewed plan file, waits for the refresh, k6 expects every instance', () => {
    sandbox.answer('aws/refreshes', 'Pending\nInProgress\nSuccessful');
    sandbox.answer('aws/desired', '2');
    const before = sandbox.calls().length;
    const results = deployEnvironment(sandbox, 'dev', {});
    results.forEach(ok);
    assert.equal(results[1].environment, 'dev');
    const credentials = results[1].steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials'))!;
    assert.equal(credentials.with?.['role-to-assume'], vars.AWS_APPLY_ROLE_ARN);

    const calls = sandbox.calls().slice(before);
    const terraform = calls.filter((c) => c.tool === 'terraform');
    assert.deepEqual(
      terraform.map((c) => c.argv.slice(1).join(' ')),
      ['init -input=false -no-color', 'apply -input=false -no-color tfplan', 'output -json', 'output -json', 'output -json'],
      'never planned again (outputs for the step outputs, then for npm run secrets init and tokens)',
    );
    assert.equal(terraform[1].planFile?.sha256, planFiles.get('dev'), 'the applied plan file is the one the pull request saved');
    assert.equal(terraform[0].backend?.settings.key, 'chat-dev/terraform.tfstate');

    const gh = calls.filter((c) => c.tool === 'gh').map((c) => c.argv.join(' '));
    assert.equal(gh.length, 2, 'dev is not protected: no reviewers check, only the artifact');
    assert.match(gh[0], new RegExp(`^api repos/${REPO}/actions/artifacts\\?name=plan-dev-${SHA}`));
    assert.match(gh[1], new RegExp(`^run download 11 --repo ${REPO} --name plan-dev-${SHA} --dir reviewed-plan$`));
    assert.equal(calls.filter((c) => c.tool === 'aws' && c.argv[1] === 'describe-instance-refreshes').length, 3, 'waited until Successful');
    // After the apply, before the refresh wait: each empty identity secret gets a value (never through Terraform).
    const aws = calls.filter((c) => c.tool === 'aws').map((c) => c.argv.slice(0, 2).join(' '));
    assert.deepEqual(aws.slice(0, 4), ['secretsmanager describe-secret', 'secretsmanager put-secret-value', 'secretsmanager describe-secret', 'secretsmanager put-secret-value']);
    assert.ok(calls.indexOf(terraform[1]) < calls.findIndex((c) => c.tool === 'aws'), 'after the apply');
    const puts = calls.filter((c) => c.tool === 'aws' && c.argv[1] === 'put-secret-value');
    assert.ok(puts.every((c) => c.argv[c.argv.indexOf('--secret-string') + 1].startsWith('file://') && c.secretFileMode === '600'));
    assert.deepEqual(puts.map((c) => c.argv[c.argv.indexOf('--secret-id') + 1].replace(/_[0-9A-F]+\.arn$/, '')), [
      'stand-in:aws_secretsmanager_secret.identity_jwt-secret',
      'stand-in:aws_secretsmanager_secret.identity_publish-api-key',
    ]);
    // The deployment has no development token endpoint: k6's users get tokens signed with the
    // jwt-secret that npm run secrets -- init just put, read by the apply role after the refresh.
    const jwtSecretId = puts[0].argv[puts[0].argv.indexOf('--secret-id') + 1];
    const reads = calls.filter((c) => c.tool === 'aws' && c.argv[1] === 'get-secret-value');
    assert.deepEqual(reads.map((c) => c.argv), [['secretsmanager', 'get-secret-value', '--secret-id', jwtSecretId, '--query', 'SecretString', '--output', 'text']]);
    assert.equal(reads[0].exitCode, 0);
    assert.ok(calls.indexOf(puts[0]) < calls.indexOf(reads[0]), 'read after init put its value');
    const k6 = calls.filter((c) => c.tool === 'npm' && c.argv[1] === 'loadtest');
    assert.equal(k6.length, 1);
    assert.ok(calls.indexOf(reads[0]) < calls.indexOf(k6[0]), 'minted before k6 runs');
    const tokensFile = k6[0].argv[k6[0].argv.indexOf('--tokens') + 1];
    assert.deepEqual(k6[0].argv, [
      'run', 'loadtest', '--', '--target', 'wss://chat-dev.example.com/ws', '--scenario', 'smoke', '--results', 'k6-results', '--expect-instances', '2', '--tokens', tokensFile,
    ]);
    assert.match(tokensFile, /\/runner-[^/]+\/k6-tokens$/, 'in the runner temp directory, outside k6-results (an uploaded artifact)');
    // What the npm stand-in found in the file when k6 would have read it (it records no token).
    const tokens = k6[0].tokens as { exists: boolean; mode: string; lines: number; verified: number; verifiedBy: string[]; distinctSubs: number; firstSub: string; issuers: string[]; audiences: string[]; rooms: string[][]; ttls: number[] };
    const largest = Math.max(...Object.values(SCENARIOS).map((s) => Object.values(s.scenarios as Record<string, { vus: number }>).reduce((n, e) => n + e.vus, 0)));
    assert.equal(tokens.exists, true);
    assert.equal(tokens.mode, '600');
    assert.equal(tokens.lines, largest, 'a token for every VU of the largest scenario');
    assert.equal(tokens.verified, tokens.lines, 'every token verifies with the secret the service reads');
    assert.deepEqual(tokens.verifiedBy, [jwtSecretId]);
    assert.equal(tokens.distinctSubs, tokens.lines, 'each VU its own user');
    assert.equal(tokens.firstSub, 'loadtest-1');
    assert.deepEqual(tokens.issuers, [environments.dev!.identity.issuer]);
    assert.deepEqual(tokens.audiences, [environments.dev!.identity.audience]);
    assert.deepEqual(tokens.rooms, [['lt-*']], 'the k6 rooms only');
    assert.ok(tokens.ttls.every((ttl) => ttl > 0 && ttl <= 2 * 3600), 'short-lived');
    // The secret's value is in no recorded argv.
    const secretFiles = join(sandbox.standins, 'aws', 'secrets');
    const values = readdirSync(secretFiles).flatMap((f) => (JSON.parse(readFileSync(join(secretFiles, f), 'utf8')).versions as Array<{ value: string }>).map((v) => v.value));
    assert.ok(values.length >= 2);
    const recorded = calls.map((c) => JSON.stringify(c.argv)).join('\n');
    for (const value of values) assert.ok(!recorded.includes(value), 'no secret value in an argv');
    assert.ok(results[1].steps.every((s) => values.every((v) => !s.stdout.includes(v) && !s.stderr.includes(v))), 'nor in a step log');
  });

  test('deploy: the same saved plan again is stale and fails; nothing is re-planned', () => {
    const before = sandbox.calls('terraform').length;
    const results = deployEnvironment(sandbox, 'dev', {});
    assert.equal(results.at(-1)!.success, false);
    const terraform = sandbox.calls('terraform').slice(before);
    assert.equal(terraform.find((c) => c.argv[1] === 'apply')?.error, 'Saved plan is stale');
    assert.ok(!terraform.some((c) => c.argv[1] === 'plan'), 'never re-planned');
    assert.match(explain(results.at(-1)!), /terraform refused the saved plan of chat-dev/);
  });

  test('deploy: a commit without a reviewed plan fails before Terraform runs', () => {
    const before = sandbox.calls('terraform').length;
    const results = deployEnvironment(sandbox, 'dev', { github: github('push', 'badc0de000000000000000000000000000000002') });
    assert.equal(results.at(-1)!.success, false);
    assert.match(explain(results.at(-1)!), /no reviewed plan plan-dev-badc0de/);
    assert.equal(sandbox.calls('terraform').length, before);
  });

  test('deploy prod: refused when its GitHub environment has no required reviewers', () => {
    sandbox.answer('github/environments/prod.json', { name: 'prod', protection_rules: [{ id: 2, type: 'branch_policy' }] });
    const before = sandbox.calls('terraform').length;
    const results = deployEnvironment(sandbox, 'prod', {});
    assert.equal(results.length, 1, 'the deploy job never starts');
    assert.equal(results[0].success, false);
    assert.match(explain(results[0]), /the GitHub environment prod of example-org\/chat-platform has no required reviewers; refusing to apply/);
    assert.equal(sandbox.calls('terraform').length, before);
  });

  test('deploy prod: with required reviewers the reviewed plan is applied', () => {
    sandbox.answer('github/environments/prod.json', REVIEWERS);
    // The stand-in's secret ARNs name only the resource address, the same in both stacks: start prod's secrets empty.
    rmSync(join(sandbox.standins, 'aws', 'secrets'), { recursive: true, force: true });
    sandbox.answer('aws/refreshes', 'None');
    sandbox.answer('aws/desired', '3');
    const before = sandbox.calls().length;
    deployEnvironment(sandbox, 'prod', {}).forEach(ok);
    const calls = sandbox.calls().slice(before);
    assert.match(calls.find((c) => c.tool === 'gh')!.argv.join(' '), /^api repos\/example-org\/chat-platform\/environments\/prod --jq/);
    const apply = calls.find((c) => c.tool === 'terraform' && c.argv[1] === 'apply')!;
    assert.equal(apply.planFile?.sha256, planFiles.get('prod'));
    assert.ok(calls.some((c) => c.tool === 'npm' && / --expect-instances 3 --tokens \S+\/k6-tokens$/.test(c.argv.join(' '))));
    assert.deepEqual(calls.filter((c) => c.tool === 'aws' && c.argv[0] === 'secretsmanager').map((c) => c.argv[1]), ['describe-secret', 'put-secret-value', 'describe-secret', 'put-secret-value', 'get-secret-value']);
  });

  test('drift: an empty plan passes; a change made outside Terraform fails the job with the summary', () => {
    const workflow = readWorkflow(sandbox.dir, 'drift.yml');
    assert.deepEqual(workflow.on.schedule, [{ cron: '17 3 * * *' }]);
    const clean = runJob(sandbox, workflow, 'drift', { contexts: { github: github('schedule'), vars, matrix: { environment: 'dev' } } });
    ok(clean);
    assert.equal(clean.environment, 'dev-plan');
    const state = JSON.parse(readFileSync(join(sandbox.standins, 's3', foundation.stateBucket, 'chat-dev', 'terraform.tfstate'), 'utf8'));
    const group = state.resources.find((r: any) => r.type === 'aws_autoscaling_group');
    const drifted = runJob(sandbox, workflow, 'drift', {
      contexts: { github: github('schedule'), vars, matrix: { environment: 'dev' } },
      env: { STANDIN_DRIFT: `${group.type}.${group.name}` },
    });
    assert.equal(drifted.success, false);
    const step = drifted.steps.at(-1)!;
    assert.match(step.stderr, /chat-dev has drifted: the plan is not empty/);
    assert.match(step.stdout, /chat-dev/);
    assert.match(step.stdout, /aws_autoscaling_group/);
    assert.ok(existsSync(join(sandbox.dir, 'drift-plan', 'plan.json')));
  });
});
