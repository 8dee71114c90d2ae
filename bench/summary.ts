// From the collected windows to the summary the reports and docs are made
// from: medians over the repeats, one ratio per fixed-rate point against each
// peer, the headline ratios and whether each target is met.
import { median } from './measure.js';
import { slope, type IdlePoint, type MemoryPoint, type RateResult, type StormPoint } from './workloads.js';

export interface Peak {
  system: string;
  peakPerSecond: number;
  reachedTop: boolean;
  steps: RateResult[];
}

export interface Collected {
  rates: RateResult[];
  peaks: Peak[];
  memory: MemoryPoint[];
  idle: IdlePoint[];
  /** One fixed rate measured with the idle rooms in place. */
  work: Array<RateResult & { rooms: number }>;
  /** Connection storms on fresh systems (absent in results from before they were measured). */
  storm?: StormPoint[];
}

export interface Target {
  key: string;
  label: string;
  /** The ratio must be at most `max` or at least `min`. */
  max?: number;
  min?: number;
}

export const PEERS = ['socketio', 'centrifuge'] as const;
export const PEER_NAMES: Record<string, string> = { service: 'service', socketio: 'Socket.IO', centrifuge: 'Centrifuge', ceiling: 'ceiling' };

/** The targets; keys ending in _ratio are against Socket.IO (today's keys), _vs_centrifuge against the Centrifuge engine. */
export const TARGETS: Target[] = [
  { key: 'cpu_ratio', label: 'server + Redis CPU per delivery / Socket.IO (median of the points)', max: 0.5 },
  { key: 'cpu_vs_centrifuge', label: 'server + Redis CPU per delivery / Centrifuge (median of the points)', max: 0.8 },
  { key: 'p99_ratio', label: 'p99 / Socket.IO (worst point)', max: 1 },
  { key: 'p99_vs_centrifuge', label: 'p99 / Centrifuge (worst point)', max: 1 },
  { key: 'memory_ratio', label: 'RSS per idle joined connection (slope) / Socket.IO', max: 0.5 },
  { key: 'memory_vs_centrifuge', label: 'RSS per idle joined connection (slope) / Centrifuge', max: 0.5 },
  { key: 'peak_ratio', label: 'peak delivered rate / Socket.IO', min: 1.5 },
  { key: 'peak_vs_centrifuge', label: 'peak delivered rate / Centrifuge', min: 1 },
  { key: 'ceiling_ratio', label: 'CPU per delivery / single-process ceiling (median of the rates)', max: 1.4 },
];

export const met = (value: number, target: { max?: number; min?: number }) =>
  Number.isFinite(value) && (target.max === undefined || value <= target.max) && (target.min === undefined || value >= target.min);

export const targetText = (target: { max?: number; min?: number }) => (target.max !== undefined ? `≤ ${target.max}` : `≥ ${target.min}`);

export interface PointRatio {
  figure: string;
  ratio: number;
  met: boolean;
}

export interface Summary {
  machine: string;
  layout: string;
  mode: string;
  date: string;
  command: string;
  seconds: number;
  /** The phases measured (rates, memory, idle); a run cut short has fewer, and says so. */
  phases: string[];
  complete: boolean;
  plan: Record<string, unknown>;
  ratios: Record<string, number>;
  /** The ratio at every fixed-rate point the headline ratios are taken from, per kind and peer. */
  pointRatios: Record<string, PointRatio[]>;
  medians: Record<string, Record<string, number>>;
  /** The driver processes' CPU per 1,000 deliveries, median over the fixed-rate windows, per system. */
  driverCpuMsPer1000: Record<string, number>;
  memory: { points: MemoryPoint[]; rssBytesPerConnection: Record<string, number>; heapBytesPerConnection: Record<string, number> };
  idle: IdlePoint[];
  work: Array<RateResult & { rooms: number }>;
  rates: RateResult[];
  peaks: Peak[];
  storm?: StormSummary;
  affinity?: AffinitySummary;
}

/** Medians of the storms per variant ('service', 'service with tokens', the peers), and what verifying a token adds. */
export interface StormSummary {
  points: StormPoint[];
  medians: Record<string, { connectionsPerSecond: number; serverCpuUsPerConnection: number; instanceCpuUsPerConnection: number }>;
  /** Service with tokens against without: extra server CPU per connection (µs), and the ratios of CPU and of connection rate. */
  verification: { extraCpuUsPerConnection: number; cpuRatio: number; rateRatio: number };
}

/** Rooms of 20 with every room's members on one instance, per rate: service CPU per delivery against the same placement of each peer and against the ceiling. */
export interface AffinitySummary {
  points: Array<{ rate: number; service: number; alternating: number; socketio: number; centrifuge: number; ceiling: number }>;
  /** Medians over the rates of service (room affinity) / other. */
  ratios: { vs_alternating: number; vs_socketio: number; vs_centrifuge: number; vs_ceiling: number };
}

export const STORM_TOKENS = 'service with tokens';
export const stormLabel = (p: Pick<StormPoint, 'system' | 'auth'>) => (p.auth === 'jwt' ? STORM_TOKENS : p.system);

const round = (value: number) => Number(value.toFixed(3));
const via = (r: RateResult) => `${r.via === 'haproxy' ? ' through HAProxy' : ''}${r.placement === 'room' ? ' with room affinity' : ''}`;
export const cpuFigure = (r: RateResult) => `server CPU ms per 1000 deliveries, ${r.workload} at ${r.offeredPerSecond}/s${via(r)}`;
export const p99Figure = (r: RateResult) => `p99 ms, ${r.workload} at ${r.offeredPerSecond}/s${via(r)}`;
export const PEAK = 'peak delivered/s (p99 ≤ 100 ms, no loss)';
export const MEMORY = 'bytes of RSS per idle joined connection (slope)';
export const HEAP = 'bytes of heap per idle joined connection (slope, after forced GC)';
export const DRIVER = 'driver CPU ms per 1000 deliveries';
export const redisFigure = (r: RateResult) => `of which Redis CPU ms per 1000 deliveries, ${r.workload} at ${r.offeredPerSecond}/s${via(r)}`;
export const writesFigure = (r: RateResult) => `instance write syscalls per 1000 deliveries, ${r.workload} at ${r.offeredPerSecond}/s${via(r)}`;
export const wakeupsFigure = (r: RateResult) => `instance wake-ups per 1000 deliveries, ${r.workload} at ${r.offeredPerSecond}/s${via(r)}`;

type Meta = Pick<Summary, 'machine' | 'layout' | 'mode' | 'date' | 'command' | 'seconds' | 'phases' | 'complete' | 'plan'>;

export function summarize(collected: Collected, meta: Meta): Summary {
  const figures: Record<string, Record<string, number[]>> = {};
  const record = (figure: string, system: string, value: number) => {
    figures[figure] ??= {};
    (figures[figure][system] ??= []).push(value);
  };
  for (const r of collected.rates) {
    record(cpuFigure(r), r.system, r.serverCpuMsPer1000);
    if (Number.isFinite(r.instanceWritesPer1000)) record(writesFigure(r), r.system, r.instanceWritesPer1000);
    if (Number.isFinite(r.instanceWakeupsPer1000)) record(wakeupsFigure(r), r.system, r.instanceWakeupsPer1000!);
    if (r.system !== 'ceiling' && Number.isFinite(r.redisCpuMsPer1000)) record(redisFigure(r), r.system, r.redisCpuMsPer1000);
    if (r.system !== 'ceiling') {
      record(p99Figure(r), r.system, r.p99Ms);
      record(DRIVER, r.system, r.driverCpuMsPer1000);
    }
  }
  for (const p of collected.peaks) record(PEAK, p.system, p.peakPerSecond);
  const systems = [...new Set(collected.memory.map((p) => p.system))];
  const memorySlope = (value: (p: MemoryPoint) => number) =>
    Object.fromEntries(systems.map((s) => [s, Math.round(slope(collected.memory.filter((p) => p.system === s && !p.error).map((p): [number, number] => [p.connections, value(p)])))]));
  const rssBytesPerConnection = memorySlope((p) => p.rssDeltaBytes);
  const heapBytesPerConnection = memorySlope((p) => p.heapDeltaBytes);
  for (const s of systems) {
    record(MEMORY, s, rssBytesPerConnection[s]);
    record(HEAP, s, heapBytesPerConnection[s]);
  }
  const medians = Object.fromEntries(
    Object.entries(figures).map(([figure, bySystem]) => [figure, Object.fromEntries(Object.entries(bySystem).map(([s, v]) => [s, round(median(v))]))]),
  );
  const ratio = (figure: string, a: string, b: string) => round((medians[figure]?.[a] ?? NaN) / (medians[figure]?.[b] ?? NaN));
  const points = (kind: (r: RateResult) => string, other: string, target: { max?: number; min?: number }): PointRatio[] =>
    [...new Set(collected.rates.filter((r) => r.system === other && r.via === 'direct' && r.placement === undefined).map(kind))].map((figure) => {
      const value = ratio(figure, 'service', other);
      return { figure, ratio: value, met: met(value, target) };
    });
  const pointRatios: Record<string, PointRatio[]> = {
    cpu_vs_socketio: points(cpuFigure, 'socketio', { max: 0.5 }),
    cpu_vs_centrifuge: points(cpuFigure, 'centrifuge', { max: 0.8 }),
    p99_vs_socketio: points(p99Figure, 'socketio', { max: 1 }),
    p99_vs_centrifuge: points(p99Figure, 'centrifuge', { max: 1 }),
    ceiling: points(cpuFigure, 'ceiling', { max: 1.4 }),
  };
  const medianOf = (list: PointRatio[]) => round(median(list.map((p) => p.ratio)));
  const worstOf = (list: PointRatio[]) => round(Math.max(...list.map((p) => p.ratio)));
  return {
    ...meta,
    ratios: {
      cpu_ratio: medianOf(pointRatios.cpu_vs_socketio),
      p99_ratio: worstOf(pointRatios.p99_vs_socketio),
      peak_ratio: ratio(PEAK, 'service', 'socketio'),
      memory_ratio: ratio(MEMORY, 'service', 'socketio'),
      ceiling_ratio: medianOf(pointRatios.ceiling),
      cpu_vs_centrifuge: medianOf(pointRatios.cpu_vs_centrifuge),
      p99_vs_centrifuge: worstOf(pointRatios.p99_vs_centrifuge),
      memory_vs_centrifuge: ratio(MEMORY, 'service', 'centrifuge'),
      peak_vs_centrifuge: ratio(PEAK, 'service', 'centrifuge'),
    },
    pointRatios,
    medians,
    driverCpuMsPer1000: medians[DRIVER] ?? {},
    memory: { points: collected.memory, rssBytesPerConnection, heapBytesPerConnection },
    idle: collected.idle,
    work: collected.work,
    rates: collected.rates,
    peaks: collected.peaks,
    ...(collected.storm?.length ? { storm: summarizeStorm(collected.storm) } : {}),
    ...affinityOf(collected.rates, medians),
  };
}

export function summarizeStorm(points: StormPoint[]): StormSummary {
  const labels = [...new Set(points.map(stormLabel))];
  const of = (label: string, value: (p: StormPoint) => number) => round(median(points.filter((p) => stormLabel(p) === label && !p.error).map(value)));
  const medians = Object.fromEntries(
    labels.map((label) => [
      label,
      {
        connectionsPerSecond: Math.round(of(label, (p) => p.connectionsPerSecond)),
        serverCpuUsPerConnection: of(label, (p) => p.serverCpuUsPerConnection),
        instanceCpuUsPerConnection: of(label, (p) => p.instanceCpuUsPerConnection),
      },
    ]),
  );
  const [without, withTokens] = [medians.service, medians[STORM_TOKENS]];
  return {
    points,
    medians,
    verification: {
      extraCpuUsPerConnection: round((withTokens?.serverCpuUsPerConnection ?? NaN) - (without?.serverCpuUsPerConnection ?? NaN)),
      cpuRatio: round((withTokens?.serverCpuUsPerConnection ?? NaN) / (without?.serverCpuUsPerConnection ?? NaN)),
      rateRatio: round((withTokens?.connectionsPerSecond ?? NaN) / (without?.connectionsPerSecond ?? NaN)),
    },
  };
}

/** The affinity points, when the run measured rooms of 20 with room affinity. */
function affinityOf(rates: RateResult[], medians: Record<string, Record<string, number>>): { affinity?: AffinitySummary } {
  const measured = rates.filter((r) => r.placement === 'room' && r.system === 'service');
  if (measured.length === 0) return {};
  const points = [...new Set(measured.map((r) => r.offeredPerSecond))]
    .sort((a, b) => a - b)
    .map((rate) => {
      const sample = measured.find((r) => r.offeredPerSecond === rate)!;
      const roomed = medians[cpuFigure(sample)] ?? {};
      const alternating = medians[cpuFigure({ ...sample, placement: undefined })] ?? {};
      return { rate, service: roomed.service, alternating: alternating.service, socketio: roomed.socketio, centrifuge: roomed.centrifuge, ceiling: alternating.ceiling };
    });
  const ratio = (other: (p: AffinitySummary['points'][number]) => number) => round(median(points.map((p) => p.service / other(p))));
  return {
    affinity: {
      points,
      ratios: { vs_alternating: ratio((p) => p.alternating), vs_socketio: ratio((p) => p.socketio), vs_centrifuge: ratio((p) => p.centrifuge), vs_ceiling: ratio((p) => p.ceiling) },
    },
  };
}
