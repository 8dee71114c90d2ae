// `npm run bench -- --quick` end to end on the three systems (and the
// ceiling): every phase runs, the results land where --out says, and the last
// stdout line is the ratios as JSON, the keys the issue fixed included.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TARGETS, type Summary } from '../../bench/summary.js';

it('bench --quick measures every phase of the three systems and prints the ratios last', { timeout: 900_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-run-test-'));
  try {
    // Its own process group, so a failed test ends the coordinator and everything it started.
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve)).finally(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    assert.equal(code, 0, stderr.slice(-4000));
    const ratios = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    // Every key is there; the cost ratios are measured numbers. (A peak can be 0 on a crowded machine, when
    // a system fails the first step of the short ladder: its ratio is then infinite and printed as null.)
    for (const target of TARGETS) assert.ok(target.key in ratios, `${target.key} missing: ${JSON.stringify(ratios)}`);
    for (const key of ['cpu_ratio', 'cpu_vs_centrifuge', 'memory_ratio', 'memory_vs_centrifuge', 'ceiling_ratio']) {
      assert.ok(Number.isFinite(ratios[key]) && ratios[key] > 0, `${key}: ${ratios[key]}`);
    }

    const summary = JSON.parse(readFileSync(join(out, 'quick.json'), 'utf8')) as Summary;
    assert.deepEqual([summary.complete, summary.phases], [true, ['rates', 'memory', 'idle', 'storm']]);
    assert.deepEqual(summary.ratios, ratios);
    assert.deepEqual([...new Set(summary.rates.map((r) => r.system))].sort(), ['ceiling', 'centrifuge', 'service', 'socketio']);
    assert.deepEqual(
      summary.affinity?.points.map((p) => p.rate),
      (summary.plan.rates20 as number[]),
      'room affinity at every rate of the rooms of 20',
    );
    assert.deepEqual(Object.keys(summary.storm?.medians ?? {}).sort(), ['centrifuge', 'service', 'service with tokens', 'socketio']);
    assert.ok(Number.isFinite(summary.storm!.verification.extraCpuUsPerConnection), JSON.stringify(summary.storm!.verification));
    assert.equal(summary.storm!.points.filter((p) => p.error).length, 0, JSON.stringify(summary.storm!.points));
    assert.equal(summary.memory.points.filter((p) => p.error).length, 0);
    assert.match(readFileSync(join(out, 'quick.md'), 'utf8'), /## Connection storms[\s\S]*## Every fixed-rate window/);
    assert.match(readFileSync(join(out, 'quick.svg'), 'utf8'), /^<svg /);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
