// `npm run deploy` and `npm run destroy` as docs/deploy.md shows them, driven
// through the recording stand-in of terraform (test/stand-ins/): init on the
// environment's S3 backend, plan into a saved plan file, its summary, the
// question, the apply of exactly that file, the outputs file, the foundation's
// bootstrap and the refusals of a protected environment's destroy.
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

  test('npm run deploy -- dev without a terminal plans, shows the summary and refuses to apply', () => {
    const before = sandbox.calls('terraform').length;
    const result = sandbox.run('bash', ['-c', COMMANDS.deploy]);
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /chat-dev/, 'the plan summary');
    assert.match(result.stderr, /no terminal to ask: review the plan above, then run again with --auto-approve/);
    assert.ok(!sandbox.calls('terraform').slice(before).some((c) => c.argv[1] === 'apply'));
  });

  test('npm run deploy -- dev in a terminal: answering anything but yes applies nothing', async () => {
    const before = sandbox.calls('terraform').length;
    const result = await sandbox.runInTerminal(COMMANDS.deploy, /Only 'yes' applies/, 'no\r');
    assert.equal(result.status, 1, result.output.slice(-2000));
    assert.match(result.output, /cancelled; nothing was applied/);
    assert.ok(!sandbox.calls('terraform').slice(before).some((c) => c.argv[1] === 'apply'));
  });

  test('npm run deploy -- dev in a terminal: the plan shown is the plan file applied after "yes"', async () => {
    const before = sandbox.calls('terraform').length;
    const result = await sandbox.runInTerminal(COMMANDS.deploy, /Only 'yes' applies/, 'yes\r');
    assert.equal(result.status, 0, result.output.slice(-3000));
    const calls = sandbox.calls('terraform').slice(before);
    assert.deepEqual(argvOf(calls), [
      '-chdir=cdktf.out/stacks/chat-dev init -input=false -no-color',
      '-chdir=cdktf.out/stacks/chat-dev plan -input=false -no-color -detailed-exitcode -out=tfplan',
      '-chdir=cdktf.out/stacks/chat-dev show -json tfplan',
      '-chdir=cdktf.out/stacks/chat-dev init -input=false -no-color',
      '-chdir=cdktf.out/stacks/chat-dev apply -input=false -no-color tfplan',
      '-chdir=cdktf.out/stacks/chat-dev output -json',
    ]);
    const [init, plan, , , apply] = calls;
    assert.deepEqual(init.backend, {
      type: 's3',
      settings: { bucket: foundation.stateBucket, key: 'chat-dev/terraform.tfstate', region: foundation.region, encrypt: true, use_lockfile: true },
    });
    assert.equal(plan.exitCode, 2, 'changes');
    assert.equal(apply.planFile?.sha256, plan.planFile?.sha256, 'applied exactly the plan that was shown');
    assert.equal(apply.lockFile, `s3/${foundation.stateBucket}/chat-dev/terraform.tfstate.tflock`, 'apply holds the S3 lock file');
    assert.ok(existsSync(join(sandbox.standins, 's3', foundation.stateBucket, 'chat-dev', 'terraform.tfstate')), 'state written to the bucket, not the machine');
  });

  test('npm run deploy -- dev --auto-approve --outputs-file outputs.json writes the outputs (nothing to change)', () => {
    const before = sandbox.calls('terraform').length;
    const result = sandbox.run('bash', ['-c', COMMANDS.deployWithOutputs]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const calls = sandbox.calls('terraform').slice(before);
    assert.deepEqual(argvOf(calls).map((a) => a.split(' ')[1]), ['init', 'plan', 'show', 'output']);
    assert.equal(calls[1].exitCode, 0, 'no changes');
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
    const before = sandbox.calls('terraform').length;
    const result = sandbox.run('bash', ['-c', COMMANDS.destroyProdConfirmed]);
    assert.notEqual(result.status, 0);
    const calls = sandbox.calls('terraform').slice(before);
    const plan = calls.find((c) => c.argv[1] === 'plan')!;
    assert.ok(plan.argv.includes('-destroy'), plan.argv.join(' '));
    assert.equal(plan.error, 'Instance cannot be destroyed');
    assert.ok(!calls.some((c) => c.argv[1] === 'apply'));
    const state = JSON.parse(readFileSync(join(sandbox.standins, 's3', foundation.stateBucket, 'chat-prod', 'terraform.tfstate'), 'utf8'));
    assert.ok(state.resources.some((r: { type: string }) => r.type === 'aws_elasticache_replication_group'), 'prod state untouched');
  });

  test('npm run destroy -- dev --auto-approve destroys dev', () => {
    const result = sandbox.run('bash', ['-c', COMMANDS.destroyDev]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const calls = sandbox.calls('terraform');
    const plan = calls.filter((c) => c.argv[1] === 'plan').at(-1)!;
    assert.deepEqual(plan.argv.slice(1), ['plan', '-input=false', '-no-color', '-detailed-exitcode', '-destroy', '-out=tfplan']);
    const apply = calls.at(-2)!;
    assert.deepEqual(apply.argv.slice(1), ['apply', '-input=false', '-no-color', 'tfplan']);
    assert.equal(apply.planFile?.sha256, plan.planFile?.sha256);
    assert.equal(apply.backend?.settings.key, 'chat-dev/terraform.tfstate');
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
    const init = sandbox.calls('terraform').find((c) => c.argv[1] === 'init')!;
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
    const init = calls.find((c) => c.argv[1] === 'init')!;
    assert.deepEqual(init.argv.slice(1), ['init', '-input=false', '-no-color', '-migrate-state', '-force-copy']);
    assert.deepEqual(init.migratedFrom, { type: 'local', settings: { path: '../../../terraform.chat-foundation.tfstate' } });
    assert.deepEqual(init.backend?.settings, { bucket: foundation.stateBucket, key: 'foundation/terraform.tfstate', region: foundation.region, encrypt: true, use_lockfile: true });
    const moved = JSON.parse(readFileSync(join(sandbox.standins, 's3', foundation.stateBucket, 'foundation', 'terraform.tfstate'), 'utf8'));
    assert.ok(moved.resources.some((r: { type: string }) => r.type === 'aws_s3_bucket'));
    const plan = calls.find((c) => c.argv[1] === 'plan')!;
    assert.deepEqual(plan.changes, { add: 0, change: 0, destroy: 0 }, 'nothing recreated after the move');
    assert.ok(!calls.some((c) => c.argv[1] === 'apply'));
  });

  test('npm run destroy -- foundation is refused like a protected environment', () => {
    const result = sandbox.run('bash', ['-c', COMMANDS.destroyFoundation]);
    assert.equal(result.status, 3);
    assert.match(result.stderr, /--confirm-destroy=foundation/);
  });
});
