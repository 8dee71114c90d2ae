// The deploy wrapper picks terraform or tofu and fails clearly without either;
// the infra scripts pass shellcheck.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const wrapper = 'scripts/infra/deploy.sh';

function runWrapper(args: string[], env: Record<string, string>) {
  // A PATH with the basic tools but neither terraform nor tofu.
  return spawnSync('/bin/bash', [wrapper, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env } });
}

describe('scripts/infra/deploy.sh', () => {
  test('the sanitized PATH really has neither binary', () => {
    const probe = spawnSync('/bin/bash', ['-c', 'command -v terraform || command -v tofu'], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    assert.notEqual(probe.status, 0, `found ${probe.stdout}`);
  });

  test('fails with a clear message when neither terraform nor tofu is on PATH', () => {
    const result = runWrapper(['deploy', 'dev'], {});
    assert.equal(result.status, 1);
    assert.match(result.stderr, /neither terraform nor tofu is on PATH/);
  });

  test('an explicit TERRAFORM_BINARY_NAME must exist', () => {
    const result = runWrapper(['destroy', 'prod'], { TERRAFORM_BINARY_NAME: 'tofu' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /TERRAFORM_BINARY_NAME=tofu is not on PATH/);
  });

  test('refuses unknown commands', () => {
    const result = runWrapper(['apply'], {});
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command 'apply'/);
  });
});

describe('shellcheck', () => {
  test('infra scripts, the stand-in launchers and the checkov installer are clean', () => {
    const scripts = [
      'scripts/infra/deploy.sh',
      'scripts/infra/checkov.sh',
      'scripts/infra/saved-plan.sh',
      'scripts/infra/github.sh',
      'scripts/infra/wait-for-refresh.sh',
      'scripts/tools/checkov.sh',
      ...['terraform', 'gh', 'aws', 'npm'].map((tool) => `test/stand-ins/${tool}`),
    ];
    const result = spawnSync('shellcheck', scripts, { cwd: root, encoding: 'utf8' });
    assert.equal(result.error, undefined, 'shellcheck is installed by scripts/bootstrap.sh');
    assert.equal(result.status, 0, result.stdout);
  });
});
