// A harness that starts a cluster and is then stopped by a signal nobody
// handles (Ctrl-C, a CI timeout, a closed terminal) must take every child with
// it, although the children run in process groups of their own.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eachLine, exitOf, isAlive } from '../../scripts/local/children.js';
import { assertPortFree } from '../../scripts/local/ports.js';
import { eventually } from '../helpers/wsClient.js';
import { killTree, within } from './support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/hold-cluster.ts', import.meta.url));

interface Started {
  pids: number[];
  ports: number[];
}

describe('children of a harness ended by a signal', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal}: the harness ends as the signal ends it, and no child or port is left`, async () => {
      const harness = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = exitOf(harness);
      let errors = '';
      harness.stderr.on('data', (chunk) => (errors += chunk));
      let started: Started | undefined;
      eachLine(harness.stdout, (line) => (started = JSON.parse(line) as Started));
      try {
        await eventually(() => started !== undefined || harness.exitCode !== null, 'the cluster started', 30_000);
        assert.ok(started, `the harness did not start its cluster: ${errors}`);
        for (const pid of started.pids) assert.equal(isAlive(pid), true, `pid ${pid} runs before the signal`);

        harness.kill(signal);
        await within(exited, 15_000, `the harness ended by ${signal}`);
        assert.equal(harness.signalCode, signal, 'ended by the signal, as without any handler');
        await eventually(() => started!.pids.every((pid) => !isAlive(pid)), 'every child gone', 5000);
        for (const port of started.ports) await assertPortFree(port, `port of the ${signal} harness`);
      } finally {
        killTree(harness.exitCode === null && harness.signalCode === null ? harness.pid : undefined, started?.pids);
      }
    });
  }
});
