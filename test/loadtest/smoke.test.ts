// k6's smoke scenario through HAProxy against the local cluster: it passes
// when the instances share Redis, and fails its thresholds when they do not,
// which proves the check can fail.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

function smoke(cluster: Cluster, name: string, extraArgs: string[] = [], target = cluster.wsUrl): { child: ChildProcess; done: Promise<Run> } {
  const dir = join(results, name);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'loadtest/run.ts', '--target', target, '--insecure', '--scenario', 'smoke', '--results', dir, ...extraArgs],
    // Its own process group, so a failed test can end the wrapper and k6 together.
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${join(process.cwd(), '.tools', 'bin')}:${process.env.PATH}` } },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  // 'close', not 'exit': the output is complete only once the pipes have closed.
  const done = new Promise<number | null>((resolve) => child.once('close', resolve)).then((code) => ({
    code,
    output,
    summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')),
  }));
  done.catch(() => undefined); // a test that gives up early never awaits it
  return { child, done };
}

/** Open WebSocket connections of one instance, from its /metrics. */
async function openConnections(instanceUrl: string): Promise<number> {
  const text = await (await fetch(`${instanceUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('chat_connections'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

const count = (run: Run, metric: string) => run.summary.data.metrics[metric]?.values.count ?? 0;

/** k6 passed: nothing missing, duplicated or out of order, every message to every member, some across instances. */
function assertDelivered(run: Run): void {
  assert.equal(run.code, 0, run.output);
  assert.equal(count(run, 'messages_missing'), 0);
  assert.equal(count(run, 'messages_duplicated'), 0);
  assert.equal(count(run, 'messages_out_of_order'), 0);
  // 12 members, each receiving the 4 x 10 messages of its room.
  assert.equal(count(run, 'messages_received'), 12 * 4 * 10);
  assert.ok(count(run, 'cross_instance_deliveries') > 0);
}

describe('k6 smoke', () => {
  it('passes against 3 instances sharing one Redis, with deliveries across instances', async () => {
    const cluster = await startCluster({ instances: 3 });
    try {
      const recordFile = join(results, 'shared-record.json');
      const run = await smoke(cluster, 'shared', ['--record', recordFile]).done;
      assertDelivered(run);
      assert.deepEqual(Object.keys(run.summary.connectionsPerInstance).sort(), ['local-1', 'local-2', 'local-3']);
      assert.match(run.output, /connections per instance:\n- local-1: \d+\n- local-2: \d+\n- local-3: \d+/);
      assert.match(run.output, /cross-instance deliveries \| \d+ \(\d+\.\d% of received\)/);
      // The wrapper's own digest of summary.json, the line a reader looks at first.
      const share = (100 * count(run, 'cross_instance_deliveries')) / count(run, 'messages_received');
      assert.match(run.output, /loadtest: connections per instance: local-1 \d+, local-2 \d+, local-3 \d+; /);
      assert.ok(run.output.includes(`cross-instance share: ${share.toFixed(1)}%`), run.output);
      // --record: the figures the docs would quote, equal to the summary's, with the verdict.
      const record = JSON.parse(readFileSync(recordFile, 'utf8'));
      assert.equal(record.scenario, 'smoke');
      assert.equal(record.exit_code, 0);
      assert.equal(record.connections, 12);
      assert.deepEqual(record.messages, { sent: 12 * 10, received: 12 * 4 * 10, missing: 0, duplicated: 0, out_of_order: 0 });
      assert.equal(record.cross_instance.deliveries, count(run, 'cross_instance_deliveries'));
      assert.equal(record.cross_instance.share_percent, Number(share.toFixed(1)));
      assert.equal(record.delivery_latency_ms.p99, Math.round(run.summary.data.metrics.delivery_latency.values['p(99)'] * 10) / 10);
      assert.match(record.command, /^npm run loadtest -- --target wss:\/\/127\.0\.0\.1:\d+\/ws --insecure --scenario smoke /);
      assert.match(record.git.commit, /^[0-9a-f]{40}$/);
    } finally {
      await cluster.stop();
    }
  });

  it('passes against 3 instances on a sharded Redis (REDIS_MODE=cluster, 3 primaries with a replica each)', async () => {
    const cluster = await startCluster({ instances: 3, redisShards: 3, redisReplicas: 1 });
    try {
      const run = await smoke(cluster, 'sharded').done;
      assertDelivered(run);
      // Each room's history is on the primary that serves its slot.
      const redis = cluster.redisCluster!;
      const perShard = await Promise.all(
        (await redis.topology())
          .filter((node) => node.role === 'primary')
          .map(async (node) => ((await redis.command(node.port, 'KEYS', 'chat:{lt-*}:history')) as string[]).length),
      );
      // 12 members in rooms of 4: 3 rooms.
      assert.equal(perShard.reduce((sum, n) => sum + n, 0), 3, `the 3 rooms' streams, by shard: ${perShard.join(', ')}`);
    } finally {
      await cluster.stop();
    }
  });

  it('fails when an instance dies under its members, counting what they never got', async () => {
    const cluster = await startCluster({ instances: 3 });
    // 40 messages at 5/s: the members are still sending when the instance goes.
    const { child, done } = smoke(cluster, 'killed', ['--messages', '40']);
    try {
      const victim = cluster.instances[0]!;
      const deadline = Date.now() + 20_000;
      while ((await openConnections(victim.url).catch(() => 0)) < 4) {
        assert.ok(Date.now() < deadline, 'the members never connected to the first instance');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      victim.kill();
      const run = await done;
      assert.equal(run.code, 99, `k6 exits 99 when thresholds fail:\n${run.output}`);
      assert.ok(count(run, 'messages_missing') > 0, run.output);
      const checks = (run.summary.data as unknown as { root_group: { checks: Array<{ name: string; fails: number }> } }).root_group.checks;
      const dropped = checks.find((c) => c.name === 'socket stayed open until the member finished');
      assert.ok(dropped !== undefined && dropped.fails > 0, 'the members of the killed instance report their socket closed');
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
      await cluster.stop();
    }
  });

  it('fails its thresholds against instances that do not share a Redis', async () => {
    const cluster = await startCluster({ instances: 3, sharedRedis: false });
    try {
      const run = await smoke(cluster, 'isolated').done;
      assert.equal(run.code, 99, `k6 exits 99 when thresholds fail:\n${run.output}`);
      assert.ok(count(run, 'messages_missing') > 0, 'messages from members on other instances never arrive');
      assert.equal(run.summary.data.metrics.messages_missing.thresholds?.['count==0']?.ok, false);
      assert.match(run.output, /FAILED thresholds:(\n- .*)*\n- messages_missing: count==0/);
    } finally {
      await cluster.stop();
    }
  });
});

// After a deploy the workflow knows how many instances the group runs: fewer
// answering, or rooms whose deliveries never crossed instances, fail the run
// instead of quietly dropping the cross-instance threshold.
describe('k6 smoke with --expect-instances', () => {
  it('passes with 3 against 3 instances, fails with 4, and fails a single instance where every room stays on it', async () => {
    const cluster = await startCluster({ instances: 3 });
    try {
      // Rooms of 6 over 3 instances of 4 connections each: every room spans two or more instances.
      const three = await smoke(cluster, 'expect-3', ['--expect-instances', '3', '--room-size', '6']).done;
      assert.equal(three.code, 0, three.output);
      assert.equal(run3Members(three), '12 of 12');
      assert.equal(three.summary.data.metrics.cross_instance_members.thresholds?.['rate==1']?.ok, true);
      const html = join(results, 'expect-3', 'report.html');
      assert.ok(existsSync(html), `k6's HTML report next to summary.json:\n${three.output}`);
      const page = readFileSync(html, 'utf8');
      assert.match(page, /^<!doctype html>/i);
      assert.match(page, /<\/html>\s*$/);
      // Self-contained: opened offline, it loads no script, style or image from the network.
      assert.doesNotMatch(page, /(src|href)\s*=\s*["']?(https?:)?\/\//i);
      assert.match(three.output, /results in .*expect-3 \(summary\.json, report\.md, report\.html\)/);

      const four = await smoke(cluster, 'expect-4', ['--expect-instances', '4', '--room-size', '6']).done;
      assert.equal(four.code, 3, four.output);
      assert.match(four.output, /loadtest: FAILED: expected 4 instances, 3 answered \(local-1, local-2, local-3\)/);

      // One instance straight, bypassing HAProxy: without the flag the probe
      // would see one instance and drop the cross-instance thresholds.
      const alone = await smoke(cluster, 'expect-2-one', ['--expect-instances', '2'], `${cluster.instances[0]!.url.replace('http', 'ws')}/ws`).done;
      assert.equal(alone.code, 99, alone.output);
      assert.equal(alone.summary.data.metrics.cross_instance_members.thresholds?.['rate==1']?.ok, false);
      assert.equal(alone.summary.data.metrics.cross_instance_deliveries.thresholds?.['count>0']?.ok, false);
      assert.match(alone.output, /FAILED: expected 2 instances, 1 answered \(local-1\)/);
      assert.match(alone.output, /FAILED: 12 of 12 members never received a message from another instance/);
    } finally {
      await cluster.stop();
    }
  });

  it('refuses a count that is not a positive integer, and rooms of one member, before starting k6', () => {
    for (const [args, message] of [
      [['--expect-instances', 'three'], /--expect-instances must be an integer from 1 to 1000 \(got three\)/],
      [['--expect-instances', '2', '--room-size', '1'], /needs rooms of 2 or more members/],
    ] as const) {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'loadtest/run.ts', '--target', 'ws://127.0.0.1:9/ws', ...args], { encoding: 'utf8' });
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
    }
  });
});

function run3Members(run: Run): string {
  const values = run.summary.data.metrics.cross_instance_members?.values;
  return `${values?.passes} of ${(values?.passes ?? 0) + (values?.fails ?? 0)}`;
}
