// The bench's reporting: self time read from a V8 profile, the flame graph, and
// the Markdown tables that the README quotes.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { flameGraph, topSelfTime, type CpuProfile } from '../../bench/profile/cpuprofile.js';
import { markdown, memorySvg, svg } from '../../bench/report.js';
import { summarize, type Collected } from '../../bench/summary.js';
import { performanceDoc, readmeBenchBlock, writeCosts } from '../../bench/doc.js';
import { slope, type MemoryPoint, type RateResult } from '../../bench/workloads.js';

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

const window = (system: string, offered: number, p99Ms: number, lost = 0, cpu = 5): RateResult => ({
  system,
  workload: 'rooms of 20',
  via: 'direct',
  offeredPerSecond: offered,
  sent: offered / 20,
  deliveries: offered - lost,
  expected: offered,
  lost,
  deliveredPerSecond: offered - lost,
  serverCpuMsPer1000: cpu,
  redisCpuMsPer1000: 1,
  instanceWritesPer1000: 50,
  instanceWakeupsPer1000: 20,
  p50Ms: 1,
  p95Ms: 2,
  p99Ms,
  driverCpuMsPer1000: 3,
  driverCpuShare: 0.25,
});

const memoryPoint = (system: string, connections: number, perConnection: number): MemoryPoint => ({
  system,
  connections,
  instances: 2,
  openMs: 100,
  rssBytesPerConnection: perConnection,
  heapBytesPerConnection: perConnection / 2,
  // A fixed 1 MB on top of the per-connection growth: the slope must see through it.
  rssDeltaBytes: 1024 * 1024 + connections * perConnection,
  heapDeltaBytes: (connections * perConnection) / 2,
});

const collected: Collected = {
  rates: [
    window('service', 40000, 3, 0, 4),
    window('socketio', 40000, 4, 0, 10),
    window('centrifuge', 40000, 2, 0, 5),
    window('ceiling', 40000, 0, 0, 2),
  ],
  peaks: [
    { system: 'service', peakPerSecond: 200000, reachedTop: false, steps: [window('service', 100000, 5), window('service', 200000, 50), window('service', 300000, 400)] },
    { system: 'socketio', peakPerSecond: 100000, reachedTop: false, steps: [window('socketio', 100000, 20), window('socketio', 200000, 30, 7)] },
    { system: 'centrifuge', peakPerSecond: 250000, reachedTop: false, steps: [window('centrifuge', 250000, 20), window('centrifuge', 300000, 300)] },
  ],
  memory: [1000, 10000].flatMap((n) => [memoryPoint('service', n, 8000), memoryPoint('socketio', n, 16000), memoryPoint('centrifuge', n, 32000)]),
  idle: [{ system: 'service', rooms: 100, connections: 150, memberships: 150, joinMs: 10, seconds: 6, instanceCpuPercent: 0.5, redisCpuPercent: 0.2, redisCommandsPerSecond: 20 }],
  work: [{ rooms: 100, ...window('service', 20000, 3) }],
};
const meta = { machine: '2 × test cpu', layout: '2 cores shared', mode: 'quick', date: '2026-01-01T00:00:00.000Z', command: 'npm run bench -- --quick', seconds: 100, phases: ['rates', 'memory', 'idle'], complete: true, plan: { idleMaxConnections: 200, idleSeconds: 6, workRate: 20000 } };

it('takes ratios against both peers at every point, and memory as the slope of growth against connections', () => {
  const summary = summarize(collected, meta);
  assert.deepEqual(summary.ratios, {
    cpu_ratio: 0.4,
    p99_ratio: 0.75,
    peak_ratio: 2,
    memory_ratio: 0.5,
    ceiling_ratio: 2,
    cpu_vs_centrifuge: 0.8,
    p99_vs_centrifuge: 1.5,
    memory_vs_centrifuge: 0.25,
    peak_vs_centrifuge: 0.8,
  });
  assert.deepEqual(summary.memory.rssBytesPerConnection, { service: 8000, socketio: 16000, centrifuge: 32000 });
  assert.equal(summary.pointRatios.p99_vs_centrifuge[0].met, false);
  assert.equal(summary.pointRatios.cpu_vs_centrifuge[0].met, true);
  assert.equal(summary.driverCpuMsPer1000.service, 3);
  assert.equal(slope([[0, 5], [10, 25], [20, 45]]), 2);
});

it('writes the ratios against their targets, every ladder with its first failure, and charts', () => {
  const summary = summarize(collected, meta);
  const text = markdown(summary);
  assert.match(text, /\| server \+ Redis CPU per delivery \/ Socket\.IO \(median of the points\) \| cpu_ratio \| 0\.4 \| ≤ 0\.5 \| yes \|/);
  assert.match(text, /\| p99 \/ Centrifuge \(worst point\) \| p99_vs_centrifuge \| 1\.5 \| ≤ 1 \| no \|/);
  assert.match(text, /\| service \| 100000, 200000 \| 300000\/s offered: p99 400 ms, 0 lost \|/);
  assert.match(text, /\| socketio \| 100000 \| 200000\/s offered: p99 30 ms, 7 lost \|/);
  assert.match(text, /`npm run bench -- --quick`/);
  assert.equal((svg(summary).match(/<polyline/g) ?? []).length, 7, 'latency for three systems, CPU for four');
  assert.equal((memorySvg(summary).match(/<polyline/g) ?? []).length, 6, 'RSS and heap for three systems');
  const doc = performanceDoc(summary);
  assert.match(doc, /\| RSS per idle joined connection \(slope\) \| 7\.8 KB \| 15\.6 KB \| 31\.3 KB \| \|/);
  assert.match(doc, /Generated by `npm run docs:figures`/);
  assert.doesNotMatch(doc, /Incomplete run/);
  // Instance CPU per write: (server 4 − Redis 1 ms) / 50 writes per 1,000 deliveries = 60 µs.
  assert.deepEqual(writeCosts(summary), [
    '- At 40,000 deliveries/s in rooms of 20 (medians): service 50 instance writes, 20 wake-ups per 1,000 deliveries, 60 µs of instance CPU per write; Socket.IO 50 instance writes, 20 wake-ups per 1,000 deliveries, 180 µs of instance CPU per write; Centrifuge 50 instance writes, 20 wake-ups per 1,000 deliveries, 80 µs of instance CPU per write.',
  ]);
  // A run cut short leaves its finished phases, and the doc says what is missing.
  const cut = summarize({ ...collected, memory: [], idle: [], work: [] }, { ...meta, phases: ['rates'], complete: false });
  assert.match(performanceDoc(cut), /\*\*Incomplete run: only rates measured\.\*\*/);
  assert.match(readmeBenchBlock(cut), /incomplete: only rates measured/);
});

const storm = (system: string, auth: 'none' | 'jwt', perSecond: number, cpuUs: number) => ({
  system,
  auth,
  connections: 1000,
  ms: Math.round(1e6 / perSecond),
  connectionsPerSecond: perSecond,
  serverCpuUsPerConnection: cpuUs,
  instanceCpuUsPerConnection: cpuUs - 10,
  driverCpuUsPerConnection: 50,
});

it('tells the cost of verifying tokens in a storm apart, and room affinity beside the alternating placement', () => {
  const roomed = (system: string, cpu: number): RateResult => ({ ...window(system, 40000, 3, 0, cpu), placement: 'room' });
  const summary = summarize(
    {
      ...collected,
      rates: [...collected.rates, roomed('service', 3), roomed('socketio', 6), roomed('centrifuge', 4)],
      // Medians per variant: service 100 µs, with tokens 130 µs (the failed storm does not count).
      storm: [
        storm('service', 'none', 2000, 100),
        storm('service', 'none', 2000, 110),
        storm('service', 'none', 2000, 90),
        storm('service', 'jwt', 1600, 130),
        { ...storm('service', 'jwt', 0, 0), error: 'refused' },
        storm('socketio', 'none', 800, 400),
      ],
    },
    meta,
  );
  assert.deepEqual(summary.storm?.verification, { extraCpuUsPerConnection: 30, cpuRatio: 1.3, rateRatio: 0.8 });
  assert.equal(summary.storm?.medians.socketio.serverCpuUsPerConnection, 400);
  // The headline ratios come from the alternating placement only.
  assert.equal(summary.ratios.cpu_ratio, 0.4);
  assert.deepEqual(summary.affinity?.points, [{ rate: 40000, service: 3, alternating: 4, socketio: 6, centrifuge: 4, ceiling: 2 }]);
  assert.deepEqual(summary.affinity?.ratios, { vs_alternating: 0.75, vs_socketio: 0.5, vs_centrifuge: 0.75, vs_ceiling: 1.5 });
  const doc = performanceDoc(summary);
  assert.match(doc, /Verifying a token costs the service 30 µs of CPU per connection: 1\.3× the CPU of the same storm without tokens, at 0\.8× its connection rate\./);
  assert.match(doc, /\| service, AUTH_MODE=jwt \(HS256\) \| 1,600 \| 130 \| 120 \|/);
  assert.match(doc, /\| 40,000 \| 3 \| 4 \| 6 \| 4 \| 2 \|/);
  assert.doesNotMatch(doc, /\| server CPU ms per 1000 deliveries, rooms of 20 at 40000\/s with room affinity \|/, 'the affinity windows stay out of the main table');
  assert.match(markdown(summary), /\| service with tokens \| jwt \| 1000 \| failed: refused \|/);
});

it('reads the wake-ups per message off the service windows at the lowest and highest rate', () => {
  const at = (offered: number, wakeups: number, cpu: number): RateResult => ({ ...window('service', offered, 3, 0, cpu), instanceWakeupsPer1000: wakeups });
  const summary = summarize({ ...collected, rates: [...collected.rates.filter((r) => r.system !== 'service'), at(5000, 150, 40), at(40000, 40, 12)] }, meta);
  assert.match(
    performanceDoc(summary),
    /at 5,000\/s that is 3 wake-ups per message of 20 deliveries, each carrying little work, and at 40,000\/s 0\.8, .* the service's CPU goes from 40 to 12 ms per 1,000 deliveries between the two rates\./,
  );
});

it('names each point where p99 misses, with every repeat of both systems', () => {
  const rates = [window('service', 40000, 9), window('service', 40000, 4), window('socketio', 40000, 12), window('socketio', 40000, 3), window('centrifuge', 40000, 1), window('centrifuge', 40000, 2)];
  const doc = performanceDoc(summarize({ ...collected, rates }, { ...meta, plan: { ...meta.plan, repeats: 2 } }));
  // Medians (nearest rank, the lower of two): service 4, Socket.IO 3, Centrifuge 1.
  assert.match(doc, /- p99 against Socket\.IO, the points that miss \(of two repeats the median is the lower\): rooms of 20 at 40000\/s: service 9 and 4 ms over the repeats, Socket\.IO 12 and 3 ms \(the ranges overlap\)\./);
  assert.match(doc, /- p99 against Centrifuge, the points that miss \(of two repeats the median is the lower\): rooms of 20 at 40000\/s: service 9 and 4 ms over the repeats, Centrifuge 1 and 2 ms \(apart\)\./);
});
