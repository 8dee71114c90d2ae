// The load of the fault scenarios must end with them: a scenario that fails
// half-way must not leave reconnecting clients that keep its test file alive
// (a CI run once waited for one until its time ran out).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { freePort } from '../../scripts/local/ports.js';

/** Runs `code` (an ES module body) in a child Node with tsx; resolves when the child exits by itself. */
function runAlone(code: string, limitMs: number): Promise<{ stdout: string; code: number | null; timedOut: boolean }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: process.cwd(), timeout: limitMs, killSignal: 'SIGKILL' }, (_error, stdout) => {
      resolve({ stdout, code: child.exitCode, timedOut: Date.now() - started >= limitMs });
    });
  });
}

describe('chaos traffic', () => {
  it('gives up when its clients cannot join, and leaves nothing behind that keeps the process alive', async () => {
    const port = await freePort(); // nothing listens there
    const result = await runAlone(
      `import { Traffic } from './chaos/traffic.ts';
       const load = new Traffic({ wsUrl: 'ws://127.0.0.1:${port}/ws', rooms: 1, clientsPerRoom: 2, ratePerClient: 5, label: 'gone' });
       await load.start(500).catch((error) => console.log('start failed: ' + error.message.slice(0, 40)));`,
      15_000,
    );
    assert.match(result.stdout, /start failed: traffic clients did not all join/);
    assert.equal(result.timedOut, false, 'the process exited by itself once the start had failed');
    assert.equal(result.code, 0);
  });
});
