// k6's smoke scenario through HAProxy against the local cluster: it passes
// when the instances share Redis, and fails its thresholds when they do not,
// which proves the check can fail.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../../scripts/local/cluster.js';

interface Run {
  code: number | null;
  output: string;
  summary: {
    connectionsPerInstance: Record<string, number>;
    data: { metrics: Record<string, { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }> };
  };
}

const results = mkdtempSync(join(tmpdir(), 'chat-k6-'));
after(() => rmSync(results, { recursive: true, force: true }));

async function smoke(cluster: Cluster, name: string): Promise<Run> {
  const dir = join(results, name);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'loadtest/run.ts', '--target', cluster.wsUrl, '--insecure', '--scenario', 'smoke', '--results', dir],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${join(process.cwd(), '.tools', 'bin')}:${process.env.PATH}` } },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output, summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) };
}

const count = (run: Run, metric: string) => run.summary.data.metrics[metric]?.values.count ?? 0;

describe('k6 smoke', () => {
  it('passes against 3 instances sharing one Redis, with deliveries across instances', async () => {
    const cluster = await startCluster({ instances: 3 });
    try {
      const run = await smoke(cluster, 'shared');
      assert.equal(run.code, 0, run.output);
      assert.equal(count(run, 'messages_missing'), 0);
      assert.equal(count(run, 'messages_duplicated'), 0);
      assert.equal(count(run, 'messages_out_of_order'), 0);
      // 12 members, each receiving the 4 x 10 messages of its room.
      assert.equal(count(run, 'messages_received'), 12 * 4 * 10);
      assert.ok(count(run, 'cross_instance_deliveries') > 0);
      assert.deepEqual(Object.keys(run.summary.connectionsPerInstance).sort(), ['local-1', 'local-2', 'local-3']);
      assert.match(run.output, /connections per instance:\n- local-1: \d+\n- local-2: \d+\n- local-3: \d+/);
      assert.match(run.output, /cross-instance deliveries \| \d+ \(\d+\.\d% of received\)/);
      // The wrapper's own digest of summary.json, the line a reader looks at first.
      const share = (100 * count(run, 'cross_instance_deliveries')) / count(run, 'messages_received');
      assert.match(run.output, /loadtest: connections per instance: local-1 \d+, local-2 \d+, local-3 \d+; /);
      assert.ok(run.output.includes(`cross-instance share: ${share.toFixed(1)}%`), run.output);
    } finally {
      await cluster.stop();
    }
  });

  it('fails its thresholds against instances that do not share a Redis', async () => {
    const cluster = await startCluster({ instances: 3, sharedRedis: false });
    try {
      const run = await smoke(cluster, 'isolated');
      assert.equal(run.code, 99, `k6 exits 99 when thresholds fail:\n${run.output}`);
      assert.ok(count(run, 'messages_missing') > 0, 'messages from members on other instances never arrive');
      assert.equal(run.summary.data.metrics.messages_missing.thresholds?.['count==0']?.ok, false);
      assert.match(run.output, /FAILED thresholds:(\n- .*)*\n- messages_missing: count==0/);
    } finally {
      await cluster.stop();
    }
  });
});
