// `npm run bench [-- --quick]`: the service against Socket.IO with its Redis
// adapter and against a server on the Centrifuge engine (and against a single
// process without Redis, the ceiling), the systems alternated, medians and
// ratios under bench/results/ (written after each phase); a full run also
// regenerates docs/performance.md and the README's table from them.
// The last stdout line is one JSON object with the ratios.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { markdown, memorySvg, idleSvg, svg } from './report.js';
import { summarize, type Collected, type Summary } from './summary.js';
import { writeFigures } from '../tools/figures/figures.js';
import { coreLayout, withSetup } from './setup.js';
import type { SystemName } from './systems.js';
import { MAX_CONNECTIONS_PER_PROCESS, DRIVER_PROCESSES } from './limits.js';
import { ONE_ROOM_OF_100, ROOMS_OF_20, connectionStorm, fixedRates, idleConnections, idleRooms, peak } from './workloads.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, auth: { type: 'string', default: 'none' } } });
const quick = values.quick!;
// --auth jwt: the service verifies a token on every connection (Socket.IO and Centrifuge run as always).
if (values.auth !== 'none' && values.auth !== 'jwt') throw new Error(`--auth must be none or jwt (got ${values.auth})`);
const auth = values.auth;
const plan = quick
  ? {
      repeats: 1,
      seconds: 2,
      rates20: [5000, 40000],
      rates100: [40000],
      ladder: { start: 20000, factor: 2, seconds: 2, maxSteps: 5 },
      memory: [500, 2000],
      idleRooms: [100, 1000],
      idleSeconds: 6,
      idleMaxConnections: 200,
      workRate: 20000,
      storm: 1000,
    }
  : {
      repeats: 2,
      seconds: 3,
      rates20: [5000, 20000, 60000, 120000],
      rates100: [5000, 20000, 60000, 120000],
      ladder: { start: 30000, factor: 1.5, seconds: 3, maxSteps: 9 },
      memory: [1000, 10000, 50000],
      idleRooms: [100, 10000, 100000],
      idleSeconds: 12,
      idleMaxConnections: 1000,
      workRate: 20000,
      storm: 5000,
    };

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const layout = coreLayout();
log(`core layout: ${layout.description}`);
const SYSTEMS: SystemName[] = ['service', 'socketio', 'centrifuge'];
const PHASES = ['rates', 'memory', 'idle', 'storm'];
const collected: Required<Collected> = { rates: [], peaks: [], memory: [], idle: [], work: [], storm: [] };
const started = Date.now();

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = values.out ?? join(root, 'bench/results');
const base = quick ? 'quick' : 'latest';
const phases: string[] = [];

/** Writes what is measured so far, so a run cut short still leaves its finished phases behind, marked as such. */
function save(phase: string): Summary {
  phases.push(phase);
  const summary = summarize(collected, {
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    layout: layout.description,
    mode: quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    command: quick ? 'npm run bench -- --quick' : 'npm run bench',
    seconds: Math.round((Date.now() - started) / 1000),
    phases: [...phases],
    complete: phases.length === PHASES.length,
    plan,
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${base}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(dir, `${base}.md`), markdown(summary));
  writeFileSync(join(dir, `${base}.svg`), svg(summary));
  writeFileSync(join(dir, `${base}-memory.svg`), memorySvg(summary));
  writeFileSync(join(dir, `${base}-idle.svg`), idleSvg(summary));
  // docs/performance.md and the README's table are made from the results just written.
  if (!quick && values.out === undefined) writeFigures(root);
  log(`${phase} done; results so far in ${dir}/${base}.{json,md,svg}`);
  return summary;
}

for (let repeat = 0; repeat < plan.repeats; repeat++) {
  const order = repeat % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse();
  for (const name of order) {
    log(`repeat ${repeat + 1}/${plan.repeats}: ${name}`);
    await withSetup(name, { layout, auth }, async (setup) => {
      collected.rates.push(...(await fixedRates(setup, ROOMS_OF_20, plan.rates20, plan.seconds)));
      collected.rates.push(...(await fixedRates(setup, ONE_ROOM_OF_100, plan.rates100, plan.seconds)));
      // What the profile suggests: every message handled on one instance (each room's members on one).
      collected.rates.push(...(await fixedRates(setup, ROOMS_OF_20, plan.rates20, plan.seconds, 'room')));
      const top = await peak(setup, ROOMS_OF_20, plan.ladder);
      collected.peaks.push({ system: name, ...top });
      log(`${name} peak ${top.peakPerSecond}/s${top.reachedTop ? ' (top of the ladder)' : ''}`);
    });
  }
  log('ceiling: one process, no Redis');
  await withSetup('ceiling', { layout, auth }, async (setup) => {
    collected.rates.push(...(await fixedRates(setup, ROOMS_OF_20, plan.rates20, plan.seconds)));
  });
}

save('rates');

// Memory per idle joined connection: a fresh system for every count, enough
// instances and driver processes that none holds more connections than the
// machine's file limit allows.
for (const count of plan.memory) {
  for (const name of SYSTEMS) {
    const processes = Math.max(2, Math.ceil(count / MAX_CONNECTIONS_PER_PROCESS));
    log(`memory: ${name}, ${count} idle connections on ${processes} instances`);
    try {
      const point = await withSetup(name, { layout, auth, inspect: true, instances: processes, drivers: Math.max(DRIVER_PROCESSES, processes) }, (setup) =>
        idleConnections(setup, count),
      );
      log(`memory: ${name}, ${count}: ${point.rssBytesPerConnection} B RSS, ${point.heapBytesPerConnection} B heap per connection`);
      collected.memory.push(point);
    } catch (error) {
      // A system that fails at a size is a result, recorded as such; the run goes on.
      log(`memory: ${name}, ${count}: failed: ${(error as Error).message}`);
      collected.memory.push({ system: name, connections: count, instances: processes, openMs: NaN, rssBytesPerConnection: NaN, heapBytesPerConnection: NaN, rssDeltaBytes: NaN, heapDeltaBytes: NaN, error: (error as Error).message });
    }
  }
}

save('memory');

// Cost as the work grows: idle rooms of 1-2 members, then one fixed rate with them in place.
for (const rooms of plan.idleRooms) {
  for (const name of SYSTEMS) {
    log(`idle: ${name}, ${rooms} rooms`);
    try {
      await withSetup(name, { layout, auth }, async (setup) => {
        const point = await idleRooms(setup, rooms, plan.idleMaxConnections, plan.idleSeconds);
        collected.idle.push(point);
        log(`idle: ${name}, ${rooms} rooms: ${point.instanceCpuPercent} % CPU per instance, ${point.redisCommandsPerSecond} Redis commands/s`);
        const [atRate] = await fixedRates(setup, ROOMS_OF_20, [plan.workRate], plan.seconds);
        collected.work.push({ rooms, ...atRate });
      });
    } catch (error) {
      log(`idle: ${name}, ${rooms} rooms: failed: ${(error as Error).message}`);
      if (!collected.idle.some((p) => p.system === name && p.rooms === rooms)) {
        collected.idle.push({ system: name, rooms, connections: NaN, memberships: NaN, joinMs: NaN, seconds: plan.idleSeconds, instanceCpuPercent: NaN, redisCpuPercent: NaN, redisCommandsPerSecond: NaN, error: (error as Error).message });
      } else collected.idle.find((p) => p.system === name && p.rooms === rooms)!.error = `then at the work rate: ${(error as Error).message}`;
    }
  }
}

save('idle');

// A connection storm on fresh systems: the service without and with a token to
// verify on every connection (its cost is the difference), beside the peers.
const STORMS: Array<{ name: SystemName; auth: 'none' | 'jwt' }> = [
  { name: 'service', auth: 'none' },
  { name: 'service', auth: 'jwt' },
  { name: 'socketio', auth: 'none' },
  { name: 'centrifuge', auth: 'none' },
];
for (let repeat = 0; repeat < plan.repeats; repeat++) {
  for (const storm of repeat % 2 === 0 ? STORMS : [...STORMS].reverse()) {
    const label = `${storm.name}${storm.auth === 'jwt' ? ' with tokens' : ''}`;
    try {
      const point = await withSetup(storm.name, { layout, auth: storm.auth }, (setup) => connectionStorm(setup, plan.storm));
      log(`storm: ${label}: ${point.connections} connections in ${point.ms} ms, ${point.serverCpuUsPerConnection} µs server CPU each`);
      collected.storm.push(point);
    } catch (error) {
      log(`storm: ${label}: failed: ${(error as Error).message}`);
      collected.storm.push({ system: storm.name, auth: storm.auth, connections: plan.storm, ms: NaN, connectionsPerSecond: NaN, serverCpuUsPerConnection: NaN, instanceCpuUsPerConnection: NaN, driverCpuUsPerConnection: NaN, error: (error as Error).message });
    }
  }
}

const summary = save('storm');
log(`done in ${summary.seconds} s; driver CPU per 1,000 deliveries (median): ${Object.entries(summary.driverCpuMsPer1000).map(([s, v]) => `${s} ${v}`).join(', ')}`);
process.stdout.write(`${markdown(summary)}\n`);
process.stdout.write(`${JSON.stringify(summary.ratios)}\n`);
process.exit(0);
