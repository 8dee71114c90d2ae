// The bench's reporting: self time read from a V8 profile, the flame graph, and
// the Markdown tables that the README quotes.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { flameGraph, topSelfTime, type CpuProfile } from '../../bench/profile/cpuprofile.js';
import { markdown, svg, type Summary } from '../../bench/report.js';
import type { RateResult } from '../../bench/workloads.js';

// root → main → (work, writeBuffer); plus (idle). Samples: work 3×1 ms, writeBuffer 1×2 ms, idle 5×1 ms.
const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5] },
    { id: 2, callFrame: frame('main', 'file:///app/server.js'), children: [3, 4] },
    { id: 3, callFrame: frame('work', 'file:///app/rooms/registry.js') },
    { id: 4, callFrame: frame('writeBuffer') },
    { id: 5, callFrame: frame('(idle)') },
  ],
  samples: [3, 3, 3, 4, 5, 5, 5, 5, 5],
  timeDeltas: [1000, 1000, 1000, 2000, 1000, 1000, 1000, 1000, 1000],
};

it('reads self time per function, idle apart, shares of the busy time', () => {
  const { busyMs, idleMs, top } = topSelfTime([profile, profile]);
  assert.equal(busyMs, 10);
  assert.equal(idleMs, 10);
  assert.deepEqual(
    top.map((t) => [t.name, t.ms, t.share]),
    [
      ['work rooms/registry.js:1', 6, 0.6],
      ['writeBuffer', 4, 0.4],
    ],
  );
});

it('draws a flame graph of the busy time only', () => {
  const graph = flameGraph(profile, 'a <title>');
  assert.match(graph, /^<svg /);
  assert.match(graph, /a &lt;title&gt;/);
  assert.match(graph, /<title>work rooms\/registry\.js:1 \(60\.0 %\)<\/title>/);
  assert.match(graph, /<title>writeBuffer \(40\.0 %\)<\/title>/);
  assert.doesNotMatch(graph, /\(idle\)/);
  assert.doesNotMatch(graph, /\{[yt]\d+\}/, 'every placeholder replaced');
});

const window = (system: string, offered: number, p99Ms: number, lost = 0): RateResult => ({
  system,
  workload: 'rooms of 20',
  via: 'direct',
  offeredPerSecond: offered,
  sent: offered / 20,
  deliveries: offered - lost,
  expected: offered,
  lost,
  deliveredPerSecond: offered - lost,
  serverCpuMsPer1000: 5,
  p50Ms: 1,
  p95Ms: 2,
  p99Ms,
  driverCpuShare: 0.25,
});

it('writes the ratios against their targets, every ladder with its first failure, and a chart', () => {
  const summary: Summary = {
    machine: '2 × test cpu',
    mode: 'quick',
    date: '2026-01-01T00:00:00.000Z',
    command: 'npm run bench -- --quick',
    seconds: 100,
    ratios: { cpu_ratio: 0.6, p99_ratio: 0.9, peak_ratio: 2, memory_ratio: 0.2, ceiling_ratio: 1.8 },
    pointRatios: { cpu: [{ figure: 'server CPU ms per 1000 deliveries, rooms of 20 at 40000/s', ratio: 0.6 }] },
    medians: { 'peak delivered/s (p99 ≤ 100 ms, no loss)': { service: 200000, socketio: 100000 } },
    rates: [window('service', 40000, 3), window('socketio', 40000, 4)],
    peaks: [
      { system: 'service', peakPerSecond: 200000, reachedTop: false, steps: [window('service', 100000, 5), window('service', 200000, 50), window('service', 300000, 400)] },
      { system: 'socketio', peakPerSecond: 100000, reachedTop: false, steps: [window('socketio', 100000, 20), window('socketio', 200000, 30, 7)] },
    ],
  };
  const text = markdown(summary);
  assert.match(text, /\| CPU per delivery \/ Socket\.IO \(median over the fixed-rate points\) \| 0\.6 \| ≤ 0\.5 \|/);
  assert.match(text, /\| service \| 100000, 200000 \| 300000\/s offered: p99 400 ms, 0 lost \|/);
  assert.match(text, /\| socketio \| 100000 \| 200000\/s offered: p99 30 ms, 7 lost \|/);
  assert.match(text, /`npm run bench -- --quick`/);
  const chart = svg(summary);
  assert.equal((chart.match(/<polyline/g) ?? []).length, 4, 'latency and CPU lines for both systems');
});
