// `npm run bench [-- --quick]`: the service against Socket.IO with its Redis
// adapter (and against a single process without Redis, the ceiling), the
// systems alternated A B A B, medians and ratios under bench/results/.
// The last stdout line is one JSON object with the ratios.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './measure.js';
import { markdown, svg, type Summary } from './report.js';
import { startSystem, type SystemName } from './systems.js';
import { ONE_ROOM_OF_100, ROOMS_OF_20, connectionsAndMemory, fixedRates, peak, type RateResult } from './workloads.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, auth: { type: 'string', default: 'none' } } });
// --auth jwt: the service verifies a token on every connection (the connection storm shows what that costs).
if (values.auth !== 'none' && values.auth !== 'jwt') throw new Error(`--auth must be none or jwt (got ${values.auth})`);
const auth = values.auth as 'none' | 'jwt';
const quick = values.quick!;
// Fixed rates are ones both systems sustain (the peer's peak on this machine
// is above 100,000 deliveries/s); below a few thousand a second both spend most
// of their CPU waking up per message, which the lowest rate shows.
const plan = quick
  ? {
      repeats: 2,
      seconds: 2,
      rates20: [5000, 40000],
      rates100: [40000],
      viaHaproxy: [20000],
      ladder: { start: 60000, factor: 1.5, seconds: 2, maxSteps: 6 },
      connections: 2000,
    }
  : {
      repeats: 3,
      seconds: 5,
      rates20: [5000, 20000, 40000, 60000],
      rates100: [20000, 60000],
      viaHaproxy: [20000, 40000],
      ladder: { start: 40000, factor: 1.25, seconds: 4, maxSteps: 12 },
      connections: 5000,
    };

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const rates: RateResult[] = [];
const peaks: Array<{ system: string; peakPerSecond: number; reachedTop: boolean; steps: RateResult[] }> = [];
const figures: Record<string, Record<string, number[]>> = {};
const record = (figure: string, system: string, value: number) => {
  figures[figure] ??= {};
  (figures[figure][system] ??= []).push(value);
};
const cpuFigure = (r: RateResult) => `server CPU ms per 1000 deliveries, ${r.workload} at ${r.offeredPerSecond}/s${r.via === 'haproxy' ? ' through HAProxy' : ''}`;
const p99Figure = (r: RateResult) => `p99 ms, ${r.workload} at ${r.offeredPerSecond}/s${r.via === 'haproxy' ? ' through HAProxy' : ''}`;
const keep = (results: RateResult[]) => {
  for (const result of results) {
    rates.push(result);
    record(cpuFigure(result), result.system, result.serverCpuMsPer1000);
    if (result.system !== 'ceiling') record(p99Figure(result), result.system, result.p99Ms);
    if (result.balancerCpuMsPer1000 !== undefined) record(`HAProxy CPU ms per 1000 deliveries at ${result.offeredPerSecond}/s`, result.system, result.balancerCpuMsPer1000);
  }
};
const PEAK = 'peak delivered/s (p99 ≤ 100 ms, no loss)';
const MEMORY = 'bytes of RSS per idle connection';

const started = Date.now();
for (let repeat = 0; repeat < plan.repeats; repeat++) {
  const order: SystemName[] = repeat % 2 === 0 ? ['service', 'socketio'] : ['socketio', 'service'];
  for (const name of order) {
    log(`repeat ${repeat + 1}/${plan.repeats}: ${name}`);
    const system = await startSystem(name, { auth });
    try {
      keep(await fixedRates(system, ROOMS_OF_20, plan.rates20, plan.seconds));
      keep(await fixedRates(system, ONE_ROOM_OF_100, plan.rates100, plan.seconds));
      const top = await peak(system, ROOMS_OF_20, plan.ladder);
      peaks.push({ system: name, ...top });
      log(`${name} peak ${top.peakPerSecond}/s${top.reachedTop ? ' (top of the ladder)' : ''}`);
      record(PEAK, name, top.peakPerSecond);
      const connections = await connectionsAndMemory(system, plan.connections);
      record(`ms to open ${plan.connections} connections`, name, connections.stormMs);
      record(MEMORY, name, connections.bytesPerConnection);
    } finally {
      await system.stop();
    }
    log(`repeat ${repeat + 1}/${plan.repeats}: ${name} through HAProxy`);
    const balanced = await startSystem(name, { balancer: true, auth });
    try {
      keep(await fixedRates(balanced, ROOMS_OF_20, plan.viaHaproxy, plan.seconds));
    } finally {
      await balanced.stop();
    }
  }
  log('ceiling: one process, no Redis');
  const ceiling = await startSystem('ceiling', { auth });
  try {
    keep(await fixedRates(ceiling, ROOMS_OF_20, plan.rates20, plan.seconds));
  } finally {
    await ceiling.stop();
  }
}

const medians = Object.fromEntries(
  Object.entries(figures).map(([figure, bySystem]) => [figure, Object.fromEntries(Object.entries(bySystem).map(([s, v]) => [s, Number(median(v).toFixed(3))]))]),
);
const round = (value: number) => Number(value.toFixed(3));
const ratio = (figure: string, a: string, b: string) => (medians[figure]?.[a] ?? NaN) / (medians[figure]?.[b] ?? NaN);
// One ratio per fixed-rate point (median of its repeats for each system); the
// headline CPU figures are the median of those, the p99 one the worst.
const points = (kind: (r: RateResult) => string, other: string, filter: (r: RateResult) => boolean = () => true) =>
  [...new Set(rates.filter((r) => r.system === other && filter(r)).map(kind))].map((figure) => ({ figure, ratio: round(ratio(figure, 'service', other)) }));
const direct = (r: RateResult) => r.via === 'direct';
const cpuPoints = points(cpuFigure, 'socketio', direct);
const ceilingPoints = points(cpuFigure, 'ceiling');
const p99Points = points(p99Figure, 'socketio');
const summary: Summary = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  mode: quick ? 'quick' : 'full',
  date: new Date().toISOString(),
  command: quick ? 'npm run bench -- --quick' : 'npm run bench',
  seconds: Math.round((Date.now() - started) / 1000),
  ratios: {
    cpu_ratio: round(median(cpuPoints.map((p) => p.ratio))),
    p99_ratio: round(Math.max(...p99Points.map((p) => p.ratio))),
    peak_ratio: round(ratio(PEAK, 'service', 'socketio')),
    memory_ratio: round(ratio(MEMORY, 'service', 'socketio')),
    ceiling_ratio: round(median(ceilingPoints.map((p) => p.ratio))),
  },
  pointRatios: { cpu: cpuPoints, p99: p99Points, ceiling: ceilingPoints },
  medians,
  rates,
  peaks,
};
const dir = values.out ?? join(fileURLToPath(new URL('.', import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const base = quick ? 'quick' : 'latest';
writeFileSync(join(dir, `${base}.json`), `${JSON.stringify(summary, null, 2)}\n`);
writeFileSync(join(dir, `${base}.md`), markdown(summary));
writeFileSync(join(dir, `${base}.svg`), svg(summary));
log(`done in ${summary.seconds} s; results in ${dir}/${base}.{json,md,svg}`);
process.stdout.write(`${markdown(summary)}\n`);
process.stdout.write(`${JSON.stringify(summary.ratios)}\n`);
process.exit(0);
