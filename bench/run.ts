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

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
const quick = values.quick!;
const plan = quick
  ? { repeats: 2, seconds: 2, rates20: [2000, 6000], rates100: [5000], peakStart: 20000, peakSeconds: 2, peakSteps: 7, connections: 2000 }
  : { repeats: 3, seconds: 5, rates20: [2000, 5000, 10000], rates100: [5000, 10000], peakStart: 20000, peakSeconds: 4, peakSteps: 8, connections: 5000 };

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const rates: RateResult[] = [];
const figures: Record<string, Record<string, number[]>> = {};
const record = (figure: string, system: string, value: number) => {
  figures[figure] ??= {};
  (figures[figure][system] ??= []).push(value);
};

const started = Date.now();
const CPU20 = 'server CPU ms per 1000 deliveries (rooms of 20)';
const CPU100 = 'server CPU ms per 1000 deliveries (one room of 100)';
for (let repeat = 0; repeat < plan.repeats; repeat++) {
  const order: SystemName[] = repeat % 2 === 0 ? ['service', 'socketio'] : ['socketio', 'service'];
  for (const name of order) {
    log(`repeat ${repeat + 1}/${plan.repeats}: ${name}`);
    const system = await startSystem(name);
    try {
      for (const result of await fixedRates(system, ROOMS_OF_20, plan.rates20, plan.seconds)) {
        rates.push(result);
        record(CPU20, name, result.serverCpuMsPer1000);
        record('p99 ms at fixed rates (rooms of 20)', name, result.p99Ms);
      }
      for (const result of await fixedRates(system, ONE_ROOM_OF_100, plan.rates100, plan.seconds)) {
        rates.push(result);
        record(CPU100, name, result.serverCpuMsPer1000);
        record('p99 ms at fixed rates (one room of 100)', name, result.p99Ms);
      }
      const top = await peak(system, ROOMS_OF_20, plan.peakStart, plan.peakSeconds, plan.peakSteps);
      record('peak delivered/s (p99 ≤ 100 ms, no loss)', name, top.peakPerSecond);
      const connections = await connectionsAndMemory(system, plan.connections);
      record(`ms to open ${plan.connections} connections`, name, connections.stormMs);
      record('bytes of RSS per idle connection', name, connections.bytesPerConnection);
    } finally {
      await system.stop();
    }
  }
  log('ceiling: one process, no Redis');
  const ceiling = await startSystem('ceiling');
  try {
    for (const result of await fixedRates(ceiling, ROOMS_OF_20, plan.rates20, plan.seconds)) {
      rates.push(result);
      record(CPU20, 'ceiling', result.serverCpuMsPer1000);
    }
  } finally {
    await ceiling.stop();
  }
}

const medians = Object.fromEntries(
  Object.entries(figures).map(([figure, bySystem]) => [figure, Object.fromEntries(Object.entries(bySystem).map(([s, v]) => [s, Number(median(v).toFixed(3))]))]),
);
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
const m = (figure: string, system: string) => medians[figure]?.[system] ?? NaN;
const p99Pairs = rates.filter((r) => r.system === 'service').map((r) => {
  const peers = rates.filter((p) => p.system === 'socketio' && p.workload === r.workload && p.offeredPerSecond === r.offeredPerSecond).map((p) => p.p99Ms);
  return r.p99Ms / median(peers);
});
const summary: Summary = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  mode: quick ? 'quick' : 'full',
  date: new Date().toISOString(),
  ratios: {
    cpu_ratio: ratio(m(CPU20, 'service') + m(CPU100, 'service'), m(CPU20, 'socketio') + m(CPU100, 'socketio')),
    p99_ratio: Number(Math.max(...p99Pairs).toFixed(3)),
    peak_ratio: ratio(m('peak delivered/s (p99 ≤ 100 ms, no loss)', 'service'), m('peak delivered/s (p99 ≤ 100 ms, no loss)', 'socketio')),
    memory_ratio: ratio(m('bytes of RSS per idle connection', 'service'), m('bytes of RSS per idle connection', 'socketio')),
    ceiling_ratio: ratio(m(CPU20, 'service'), m(CPU20, 'ceiling')),
  },
  medians,
  rates,
};
const dir = values.out ?? join(fileURLToPath(new URL('.', import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const base = quick ? 'quick' : 'latest';
writeFileSync(join(dir, `${base}.json`), `${JSON.stringify(summary, null, 2)}\n`);
writeFileSync(join(dir, `${base}.md`), markdown(summary));
writeFileSync(join(dir, `${base}.svg`), svg(summary));
log(`done in ${Math.round((Date.now() - started) / 1000)} s; results in ${dir}/${base}.{json,md,svg}`);
process.stdout.write(`${markdown(summary)}\n`);
process.stdout.write(`${JSON.stringify(summary.ratios)}\n`);
process.exit(0);
