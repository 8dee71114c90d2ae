// k6's smoke scenario against a local cluster with AUTH_MODE=jwt: the wrapper
// takes a token per VU from the cluster's development endpoint and each k6
// member connects with its own (the cluster refuses connections without one;
// test/loadtest/tokens.test.ts checks the per-VU users and --tokens).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../../scripts/local/cluster.js';
import { refusal } from './support.js';

let cluster: Cluster;
const results = mkdtempSync(join(tmpdir(), 'chat-k6-jwt-'));

before(async () => {
  cluster = await startCluster({ instances: 2, auth: 'jwt', env: { DRAIN_SECONDS: '0' } });
});
after(async () => {
  await cluster?.stop();
  rmSync(results, { recursive: true, force: true });
});

it('runs the smoke scenario with tokens against a jwt cluster', async () => {
  assert.equal((await refusal(cluster.wsUrl)).status, 401, 'the cluster refuses connections without a token');
  const child = spawn(process.execPath, ['--import', 'tsx', 'loadtest/run.ts', '--target', cluster.wsUrl, '--insecure', '--scenario', 'smoke', '--results', results], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${join(process.cwd(), '.tools', 'bin')}:${process.env.PATH}` },
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, output.slice(-2000));
  const summary = JSON.parse(readFileSync(join(results, 'summary.json'), 'utf8')) as { data: { metrics: Record<string, { values: Record<string, number> }> } };
  assert.ok(summary.data.metrics.messages_received.values.count > 0, 'messages flowed');
  assert.doesNotMatch(readFileSync(join(results, 'report.md'), 'utf8'), /token=/, 'the token stays out of the report');
});
