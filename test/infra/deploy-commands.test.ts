// `npm run deploy` and `npm run destroy` as docs/deploy.md shows them, driven
// through the recording stand-in of terraform (test/stand-ins/): what cdktf
// 0.21 hands Terraform (version, init with the S3 backend of the environment,
// providers lock, apply, output), the outputs file, and the refusals of a
// protected environment's destroy.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { foundation } from '../../config/foundation.js';
import { COMMANDS } from './documented-commands.js';
import { createSandbox, type Call, type Sandbox } from './sandbox.js';

const argvOf = (calls: Call[]) => calls.map((c) => c.argv.join(' '));

describe('npm run deploy / destroy through the terraform stand-in', () => {
  let sandbox: Sandbox;
  before(() => {
    sandbox = createSandbox();
    sandbox.bucket(foundation.stateBucket);
  });
  after(() => sandbox.remove());

  test('npm run deploy -- dev shows the plan and applies once approved in the terminal', async () => {
    const before = sandbox.calls('terraform').length;
    // First deploy: cdktf 0.21 runs version -json (at load), -v, init (in a pty), providers lock, apply, output -json.
    // cdktf relays Terraform's question as an Approve / Dismiss / Stop menu; Enter approves.
    const result = await sandbox.runInTerminal(COMMANDS.deploy, /Approve/, '\r');
    assert.match(result.output, /Do you want to perform these actions\?/);
    const apply = sandbox.calls('terraform').slice(before).find((c) => c.argv[0] === 'apply');
    assert.ok(apply, result.output.slice(-3000));
    assert.deepEqual(apply.argv, ['apply'], 'no -auto-approve');
    assert.equal(apply.stdinIsTTY, true);
    assert.equal(apply.answer, 'yes', 'cdktf answered Terraform for the person who approved');
    assert.equal(result.status, 0, result.output.slice(-3000));
    assert.deepEqual(argvOf(sandbox.calls('terraform').slice(before)).filter((a) => !a.startsWith('version')), ['-v', 'init', 'providers lock -platform=linux_amd64', 'apply', 'output -json']);
  });

  test('npm run deploy -- dev --auto-approve --outputs-file outputs.json: init on the S3 backend, apply, outputs written', () => {
    const before = sandbox.calls('terraform').length;
    const result = sandbox.run('bash', ['-c', COMMANDS.deployWithOutputs]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const calls = sandbox.calls('terraform').slice(before);
    // Second deploy: nothing to change; the outputs file is what --outputs-file asked for.
    assert.deepEqual(argvOf(calls).filter((a) => !a.startsWith('version') && !a.startsWith('providers lock')), ['-v', 'init', 'apply -auto-approve', 'output -json']);
    assert.ok(calls.every((c) => c.exitCode === 0));
    const init = calls.find((c) => c.argv[0] === 'init')!;
    assert.match(init.cwd, /cdktf\.out\/stacks\/chat-dev$/);
    assert.deepEqual(init.backend, {
      type: 's3',
      settings: { bucket: foundation.stateBucket, key: 'chat-dev/terraform.tfstate', region: foundation.region, encrypt: true, use_lockfile: true },
    });
    const apply = calls.find((c) => c.argv[0] === 'apply')!;
    assert.equal(apply.lockFile, `s3/${foundation.stateBucket}/chat-dev/terraform.tfstate.tflock`, 'apply holds the S3 lock file');
    assert.ok(existsSync(join(sandbox.standins, 's3', foundation.stateBucket, 'chat-dev', 'terraform.tfstate')), 'state written to the bucket, not the runner');
    const outputs = JSON.parse(readFileSync(join(sandbox.dir, 'outputs.json'), 'utf8'));
    assert.equal(outputs['chat-dev'].url, 'https://chat-dev.example.com');
    assert.equal(outputs['chat-dev'].websocket_url, 'wss://chat-dev.example.com/ws');
  });

  test('the runbook reads the URL from the stack outputs', () => {
    const result = sandbox.run('bash', ['-c', `${COMMANDS.readUrl} && echo "$url"`]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'https://chat-dev.example.com');
    assert.deepEqual(sandbox.calls('terraform').at(-1)!.argv, ['-chdir=cdktf.out/stacks/chat-dev', 'output', '-raw', 'url']);
  });

  test('a plain npm run destroy -- prod without a terminal is refused before Terraform runs', () => {
    const before = sandbox.calls('terraform').length;
    const result = sandbox.run('bash', ['-c', COMMANDS.destroyProd]);
    assert.equal(result.status, 3, result.stdout + result.stderr);
    assert.match(result.stderr, /refusing to destroy chat-prod: it is a protected environment; pass --confirm-destroy=prod/);
    assert.equal(sandbox.calls('terraform').length, before, 'terraform never started');
  });

  test('--confirm-destroy must name the environment', () => {
    const result = sandbox.run('npm', ['run', 'destroy', '--', 'prod', '--confirm-destroy=dev', '--auto-approve']);
    assert.equal(result.status, 3);
    assert.match(result.stderr, /--confirm-destroy=prod/);
  });

  test('confirmed, prod still keeps its cache and key: Terraform refuses through prevent_destroy', () => {
    const deployed = sandbox.run('npm', ['run', 'deploy', '--', 'prod', '--auto-approve']);
    assert.equal(deployed.status, 0, deployed.stdout + deployed.stderr);
    const result = sandbox.run('bash', ['-c', COMMANDS.destroyProdConfirmed]);
    assert.notEqual(result.status, 0);
    const destroy = sandbox.calls('terraform').filter((c) => c.argv[0] === 'destroy').at(-1)!;
    assert.equal(destroy.error, 'Instance cannot be destroyed');
    const state = JSON.parse(readFileSync(join(sandbox.standins, 's3', foundation.stateBucket, 'chat-prod', 'terraform.tfstate'), 'utf8'));
    assert.ok(state.resources.some((r: { type: string }) => r.type === 'aws_elasticache_replication_group'), 'prod state untouched');
  });

  test('npm run destroy -- dev --auto-approve destroys dev', () => {
    const result = sandbox.run('bash', ['-c', COMMANDS.destroyDev]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const destroy = sandbox.calls('terraform').filter((c) => c.argv[0] === 'destroy').at(-1)!;
    assert.deepEqual(destroy.argv, ['destroy', '-auto-approve']);
    assert.equal(destroy.backend?.settings.key, 'chat-dev/terraform.tfstate');
    const state = JSON.parse(readFileSync(join(sandbox.standins, 's3', foundation.stateBucket, 'chat-dev', 'terraform.tfstate'), 'utf8'));
    assert.deepEqual(state.resources, []);
  });
});

describe('foundation bootstrap through the terraform stand-in', () => {
  let sandbox: Sandbox;
  before(() => {
    sandbox = createSandbox();
  });
  after(() => sandbox.remove());

  test('FOUNDATION_BOOTSTRAP=1 npm run deploy -- foundation: local state, creates the state bucket', () => {
    const result = sandbox.run('bash', ['-c', COMMANDS.bootstrap]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const init = sandbox.calls('terraform').find((c) => c.argv[0] === 'init')!;
    assert.match(init.cwd, /cdktf\.out\/stacks\/chat-foundation$/);
    assert.deepEqual(init.backend, { type: 'local', settings: { path: '../../../terraform.chat-foundation.tfstate' } });
    assert.ok(existsSync(join(sandbox.standins, 's3', foundation.stateBucket)), 'the bucket exists after the first apply');
    const local = JSON.parse(readFileSync(join(sandbox.dir, 'terraform.chat-foundation.tfstate'), 'utf8'));
    assert.ok(local.resources.some((r: { type: string }) => r.type === 'aws_iam_openid_connect_provider'));
  });

  test('npm run deploy -- foundation --migrate-state: the foundation moves its state into its bucket', () => {
    const before = sandbox.calls('terraform').length;
    const result = sandbox.run('bash', ['-c', COMMANDS.migrate]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const calls = sandbox.calls('terraform').slice(before);
    const init = calls.find((c) => c.argv[0] === 'init')!;
    assert.ok(init.argv.includes('-migrate-state'), init.argv.join(' '));
    assert.deepEqual(init.migratedFrom, { type: 'local', settings: { path: '../../../terraform.chat-foundation.tfstate' } });
    assert.deepEqual(init.backend?.settings, { bucket: foundation.stateBucket, key: 'foundation/terraform.tfstate', region: foundation.region, encrypt: true, use_lockfile: true });
    const moved = JSON.parse(readFileSync(join(sandbox.standins, 's3', foundation.stateBucket, 'foundation', 'terraform.tfstate'), 'utf8'));
    assert.ok(moved.resources.some((r: { type: string }) => r.type === 'aws_s3_bucket'));
    const apply = calls.find((c) => c.argv[0] === 'apply')!;
    assert.deepEqual(apply.changes, { add: 0, change: 0, destroy: 0 }, 'nothing recreated after the move');
  });

  test('npm run destroy -- foundation is refused like a protected environment', () => {
    const result = sandbox.run('bash', ['-c', COMMANDS.destroyFoundation]);
    assert.equal(result.status, 3);
    assert.match(result.stderr, /--confirm-destroy=foundation/);
  });
});
