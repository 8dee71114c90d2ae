// scripts/test.sh, the suite's runner: a test that never ends fails by its
// timeout, a file that leaves a timer behind still exits, and *.serial.* files
// run after all the others. Without this a hung scenario held a CI run until
// its time ran out, with no verdict.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

it('fails a test that never ends, exits a file that leaks a timer, runs every test of every file, and runs serial files last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runner-test-'));
  const log = join(dir, 'order.log');
  writeFileSync(log, '');
  // A runner started from inside a test file would report to this one's runner instead.
  const { NODE_TEST_CONTEXT: _parent, ...env } = process.env;
  try {
    const fixtures = 'test/fixtures/runner';
    const child = spawn('bash', ['scripts/test.sh', '--no-setup', `${fixtures}/alone.serial.fixture.ts`, `${fixtures}/hangs.fixture.ts`, `${fixtures}/leaks.fixture.ts`, `${fixtures}/suites.fixture.ts`], {
      env: { ...env, TEST_TIMEOUT_MS: '3000', TEST_EXIT_GRACE_MS: '2000', TEST_RESULTS_DIR: join(dir, 'results'), RUNNER_LOG: log },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const started = Date.now();
    const limit = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    clearTimeout(limit);
    assert.ok(Date.now() - started < 60_000, `the run ended by itself:\n${output}`);
    assert.equal(code, 1, output);
    assert.match(output, /✖ never ends[\s\S]*test timed out after 3000ms/);
    assert.match(output, /✔ passes and leaves a timer behind/);
    assert.match(output, /✔ runs alone/);
    // 3 + 61 tests in the parallel run, all reported: none cut off between suites.
    assert.match(output, /ℹ tests 64\n/);
    assert.match(output, /still running 2000 ms after its tests ended; exiting/);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' '));
    assert.deepEqual(lines.map(([kind]) => kind), ['parallel', 'parallel', 'parallel', 'serial']);
    readFileSync(join(dir, 'results', 'junit.xml'));
    readFileSync(join(dir, 'results', 'junit-serial.xml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
