// The workloads, identical for every system: clients spread over the driver
// processes and over the instances (alternating), rooms, senders at a fixed
// offered rate sent at evenly spread times; and the work-size workloads (idle
// rooms, idle connections) on fresh processes.
import { Redis } from 'ioredis';
import { mintToken, tokenUrl } from '../scripts/local/auth.js';
import type { Running } from './systems.js';
import type { Drivers } from './driver/pool.js';
import type { ClientSpec } from './driver/messages.js';
import { median, percentile, rssKb, sumCpuMs, sumWakeups, sumWriteSyscalls } from './measure.js';
import { DRAIN_MS, PEAK_P99_MS, SEND_TICK_MS, STORM_IN_FLIGHT, STORM_SETTLE_MS } from './limits.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const OPEN_IN_FLIGHT = 50;

export interface RateResult {
  system: string;
  workload: string;
  /** How the clients reach the instances. */
  via: 'direct' | 'haproxy';
  /** 'room': every member of a room on one instance (room affinity); absent: members alternate over the instances. */
  placement?: 'room';
  offeredPerSecond: number;
  sent: number;
  deliveries: number;
  expected: number;
  lost: number;
  deliveredPerSecond: number;
  serverCpuMsPer1000: number;
  /** Redis' part of serverCpuMsPer1000 (0 for the ceiling, which has none). */
  redisCpuMsPer1000: number;
  /** Write system calls of the instances per 1,000 deliveries: how well each system batches its socket writes. */
  instanceWritesPer1000: number;
  /** Times the instances' threads slept and were woken (voluntary context switches) per 1,000 deliveries (absent in older results). */
  instanceWakeupsPer1000?: number;
  /** HAProxy's CPU per 1,000 deliveries, when the clients go through it (the same proxy for every system). */
  balancerCpuMsPer1000?: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** The driver processes' CPU per 1,000 deliveries, and in cores over the window. */
  driverCpuMsPer1000: number;
  driverCpuShare: number;
}

export interface Shape {
  name: string;
  rooms: number;
  roomSize: number;
  sendersPerRoom: number;
}

// Ten senders in each shape: at the same delivery rate every sender sends as
// often in rooms of 20 as in the room of 100, and no system is judged by how
// fast one connection can push (the Centrifuge engine handles a connection's
// commands one after the other, waiting for Redis on each publish).
export const ROOMS_OF_20: Shape = { name: 'rooms of 20', rooms: 5, roomSize: 20, sendersPerRoom: 10 };
export const ONE_ROOM_OF_100: Shape = { name: 'one room of 100', rooms: 1, roomSize: 100, sendersPerRoom: 10 };

/** A system and the driver processes that load it. */
export interface Setup {
  system: Running;
  drivers: Drivers;
}

interface Connected {
  /** Per driver: its senders (index into its clients) and their room. */
  senders: Array<Array<{ client: number; room: string }>>;
}

/**
 * How clients are spread over the instances: 'alternate' is a balancer's round
 * robin (client n on instance n mod instances); 'room' puts every member of a
 * room on one instance, as a balancer hashing on the room would (room affinity).
 */
export type Placement = 'alternate' | 'room';

/** Client `n` goes to driver n mod drivers, and to an instance by `placement`; `urlOf` gives its URL there. */
export function place(setup: { system: Pick<Running, 'urls'>; drivers: Pick<Drivers, 'size'> }, memberships: string[][], placement: Placement = 'alternate', urlOf = (instance: number, _n: number) => setup.system.urls[instance]): ClientSpec[][] {
  const specs: ClientSpec[][] = Array.from({ length: setup.drivers.size }, () => []);
  const instances = setup.system.urls.length;
  const roomIndex = new Map<string, number>();
  memberships.forEach((rooms, n) => {
    if (placement === 'room' && !roomIndex.has(rooms[0])) roomIndex.set(rooms[0], roomIndex.size);
    const instance = placement === 'room' ? roomIndex.get(rooms[0])! % instances : n % instances;
    specs[n % setup.drivers.size].push({ url: urlOf(instance, n), rooms });
  });
  return specs;
}

/** Opens the clients; answers how long it took and, per driver, the index of its first new client. */
async function open(setup: Setup, specs: ClientSpec[][]): Promise<{ ms: number; first: number[] }> {
  const started = performance.now();
  const replies = await setup.drivers.all<'opened'>((i) => ({ op: 'open', system: setup.system.name, clients: specs[i], inFlight: OPEN_IN_FLIGHT }));
  return { ms: performance.now() - started, first: replies.map((r) => r.first) };
}

const closeAll = (setup: Setup) => setup.drivers.all({ op: 'close' });

async function connectShape(setup: Setup, shape: Shape, placement: Placement): Promise<Connected> {
  const tag = Date.now().toString(36);
  const memberships: string[][] = [];
  const senders: Connected['senders'] = Array.from({ length: setup.drivers.size }, () => []);
  for (let r = 0; r < shape.rooms; r++) {
    const room = `bench-${shape.roomSize}-${r}-${tag}`;
    for (let i = 0; i < shape.roomSize; i++) {
      const n = memberships.length;
      if (i < shape.sendersPerRoom) senders[n % setup.drivers.size].push({ client: Math.floor(n / setup.drivers.size), room });
      memberships.push([room]);
    }
  }
  // Clients already open on a driver (the idle rooms' members) come first there.
  const { first } = await open(setup, place(setup, memberships, placement));
  await sleep(300); // subscriptions settle
  return { senders: senders.map((list, d) => list.map((s) => ({ ...s, client: first[d] + s.client }))) };
}

/** Sends `deliveriesPerSecond / roomSize` messages a second for `seconds`, spread over the drivers, and measures. */
async function measureRate(setup: Setup, shape: Shape, connected: Connected, deliveriesPerSecond: number, seconds: number, placement: Placement = 'alternate'): Promise<RateResult> {
  const { system, drivers } = setup;
  const window = `w${Math.random().toString(36).slice(2, 8)}`;
  const totalSenders = connected.senders.reduce((sum, s) => sum + s.length, 0);
  const messagesPerSecond = deliveriesPerSecond / shape.roomSize;
  await drivers.all({ op: 'window', window });
  const cpuBefore = sumCpuMs(system.pids);
  const writesBefore = sumWriteSyscalls(system.instancePids);
  const wakeupsBefore = sumWakeups(system.instancePids);
  const redisPids = system.redisPid === undefined ? [] : [system.redisPid];
  const redisBefore = sumCpuMs(redisPids);
  const balancerBefore = sumCpuMs(system.balancerPids);
  const driverBefore = sumCpuMs(drivers.pids);
  const started = performance.now();
  // Each driver sends its senders' share; their ticks are offset so the sends interleave.
  const sent = (
    await drivers.all<'sent'>((i) => ({
      op: 'send',
      window,
      senders: connected.senders[i],
      perSecond: (messagesPerSecond * connected.senders[i].length) / totalSenders,
      seconds,
      offsetMs: (i * SEND_TICK_MS) / drivers.size,
    }))
  ).reduce((sum, r) => sum + r.sent, 0);
  // Let what is in flight arrive (or not: what does not is lost).
  const expected = sent * shape.roomSize;
  const deadline = performance.now() + DRAIN_MS;
  for (;;) {
    const counted = (await drivers.all<'count'>({ op: 'count' })).reduce((sum, r) => sum + r.deliveries, 0);
    if (counted >= expected || performance.now() > deadline) break;
    await sleep(20);
  }
  const collected = await drivers.all<'collected'>({ op: 'collect' });
  const wall = performance.now() - started;
  const cpu = sumCpuMs(system.pids) - cpuBefore;
  const writes = sumWriteSyscalls(system.instancePids) - writesBefore;
  const wakeups = sumWakeups(system.instancePids) - wakeupsBefore;
  const redisCpu = sumCpuMs(redisPids) - redisBefore;
  const balancerCpu = sumCpuMs(system.balancerPids) - balancerBefore;
  const driverCpu = sumCpuMs(drivers.pids) - driverBefore;
  const deliveries = collected.reduce((sum, r) => sum + r.deliveries, 0);
  const latencies = collected.flatMap((r) => Array.from(r.latencies));
  const per1000 = (ms: number) => Number(((ms / Math.max(1, deliveries)) * 1000).toFixed(3));
  return {
    system: system.name,
    workload: shape.name,
    via: system.balancerPids.length > 0 ? 'haproxy' : 'direct',
    ...(placement === 'room' ? { placement } : {}),
    offeredPerSecond: deliveriesPerSecond,
    sent,
    deliveries,
    expected,
    lost: Math.max(0, expected - deliveries),
    deliveredPerSecond: Math.round(deliveries / seconds),
    serverCpuMsPer1000: per1000(cpu),
    redisCpuMsPer1000: per1000(redisCpu),
    instanceWritesPer1000: per1000(writes),
    instanceWakeupsPer1000: per1000(wakeups),
    ...(system.balancerPids.length > 0 ? { balancerCpuMsPer1000: per1000(balancerCpu) } : {}),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p95Ms: Number(percentile(latencies, 95).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
    driverCpuMsPer1000: per1000(driverCpu),
    driverCpuShare: Number((driverCpu / wall).toFixed(3)),
  };
}

/** Workloads 1 and 2: cost and latency at each fixed rate, the members placed by `placement`. */
export async function fixedRates(setup: Setup, shape: Shape, rates: number[], seconds: number, placement: Placement = 'alternate'): Promise<RateResult[]> {
  const connected = await connectShape(setup, shape, placement);
  try {
    await measureRate(setup, shape, connected, rates[0], 1, placement); // warm-up
    const results = [];
    for (const rate of rates) results.push(await measureRate(setup, shape, connected, rate, seconds, placement));
    return results;
  } finally {
    await closeAll(setup);
  }
}

/**
 * Workload 3: the highest delivered rate with p99 ≤ 100 ms and nothing lost.
 * A ladder of offered rates, `factor` apart, climbed until a step fails (or
 * `maxSteps` pass: then the peak is at least the top, and says so).
 */
export async function peak(
  setup: Setup,
  shape: Shape,
  ladder: { start: number; factor: number; seconds: number; maxSteps: number },
): Promise<{ peakPerSecond: number; reachedTop: boolean; steps: RateResult[] }> {
  const connected = await connectShape(setup, shape, 'alternate');
  try {
    const steps: RateResult[] = [];
    let rate = ladder.start;
    let best = 0;
    for (let i = 0; i < ladder.maxSteps; i++) {
      const result = await measureRate(setup, shape, connected, rate, ladder.seconds);
      steps.push(result);
      if (result.lost > 0 || result.p99Ms > PEAK_P99_MS) return { peakPerSecond: best, reachedTop: false, steps };
      best = result.deliveredPerSecond;
      rate = Math.round(rate * ladder.factor);
    }
    return { peakPerSecond: best, reachedTop: true, steps };
  } finally {
    await closeAll(setup);
  }
}

export interface MemoryPoint {
  system: string;
  connections: number;
  instances: number;
  openMs: number;
  /** Growth of the instances' resident memory, and of their live heap after a forced collection, per connection. */
  rssBytesPerConnection: number;
  heapBytesPerConnection: number;
  rssDeltaBytes: number;
  heapDeltaBytes: number;
  /** Why the point could not be measured (the system refused or failed at this size). */
  error?: string;
}

const rssBytes = (pids: number[]) => pids.reduce((sum, pid) => sum + rssKb(pid), 0) * 1024;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Resident memory once it has settled: the median of a few readings. */
async function settledRss(pids: number[]): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(300);
    samples.push(rssBytes(pids));
  }
  return median(samples);
}

/**
 * Workload 4: `count` idle connections, each joined to a room (rooms of 20),
 * on a system fresh for this count. Memory before and after, each after a
 * forced collection in every instance (inspector or runtime.GC).
 */
export async function idleConnections(setup: Setup, count: number): Promise<MemoryPoint> {
  const { system } = setup;
  await sleep(1000);
  const heapBefore = sum(await system.heaps());
  const rssBefore = await settledRss(system.instancePids);
  const memberships = Array.from({ length: count }, (_, n) => [`idle-${Math.floor(n / 20)}`]);
  const openMs = (await open(setup, place(setup, memberships))).ms;
  await sleep(2000);
  const heapAfter = sum(await system.heaps());
  const rssAfter = await settledRss(system.instancePids);
  await closeAll(setup);
  return {
    system: system.name,
    connections: count,
    instances: system.instancePids.length,
    openMs: Math.round(openMs),
    rssBytesPerConnection: Math.round((rssAfter - rssBefore) / count),
    heapBytesPerConnection: Math.round((heapAfter - heapBefore) / count),
    rssDeltaBytes: Math.round(rssAfter - rssBefore),
    heapDeltaBytes: Math.round(heapAfter - heapBefore),
  };
}

/** Least-squares slope of y against x: bytes per connection across the counts. */
export function slope(points: Array<[x: number, y: number]>): number {
  const n = points.length;
  if (n < 2) return n === 1 ? points[0][1] / points[0][0] : NaN;
  const mx = sum(points.map(([x]) => x)) / n;
  const my = sum(points.map(([, y]) => y)) / n;
  const sxx = sum(points.map(([x]) => (x - mx) ** 2));
  return sum(points.map(([x, y]) => (x - mx) * (y - my))) / sxx;
}

export interface IdlePoint {
  system: string;
  rooms: number;
  connections: number;
  memberships: number;
  joinMs: number;
  seconds: number;
  /** CPU of one instance (mean of the instances), % of a core, and Redis', while nothing is sent. */
  instanceCpuPercent: number;
  redisCpuPercent: number;
  redisCommandsPerSecond: number;
  /** Why the point could not be measured (the system refused or failed at this size). */
  error?: string;
}

async function commandsProcessed(redis: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? NaN);
}

/**
 * Workload 6: `rooms` rooms of one or two members each (alternately), held by
 * at most `maxConnections` connections; then nothing is sent for `seconds`
 * and the instances' CPU and Redis' commands are counted. Leaves the clients
 * connected (the caller measures deliveries with the rooms in place).
 */
export async function idleRooms(setup: Setup, rooms: number, maxConnections: number, seconds: number): Promise<IdlePoint> {
  const { system } = setup;
  const memberships = rooms + Math.floor(rooms / 2);
  const connections = Math.min(maxConnections, memberships);
  const byConnection: string[][] = Array.from({ length: connections }, () => []);
  let k = 0;
  for (let r = 0; r < rooms; r++) {
    for (let m = 0; m < 1 + (r % 2); m++) byConnection[k++ % connections].push(`idle-room-${r}`);
  }
  const joinMs = (await open(setup, place(setup, byConnection))).ms;
  await sleep(2000);
  const redis = new Redis(system.redisUrl!, { lazyConnect: true });
  await redis.connect();
  try {
    const commandsBefore = await commandsProcessed(redis);
    const instancesBefore = sumCpuMs(system.instancePids);
    const redisBefore = sumCpuMs([system.redisPid!]);
    const started = performance.now();
    await sleep(seconds * 1000);
    const wall = performance.now() - started;
    // One INFO of ours is in the difference.
    const commands = (await commandsProcessed(redis)) - commandsBefore - 1;
    const percent = (ms: number) => Number(((ms / wall) * 100).toFixed(2));
    return {
      system: system.name,
      rooms,
      connections,
      memberships,
      joinMs: Math.round(joinMs),
      seconds,
      instanceCpuPercent: percent((sumCpuMs(system.instancePids) - instancesBefore) / system.instancePids.length),
      redisCpuPercent: percent(sumCpuMs([system.redisPid!]) - redisBefore),
      redisCommandsPerSecond: Number(((commands * 1000) / wall).toFixed(1)),
    };
  } finally {
    redis.disconnect();
  }
}

export interface StormPoint {
  /** The system, and for the service whether it verified a token on every connection. */
  system: string;
  auth: 'none' | 'jwt';
  connections: number;
  /** From the first connection attempt to the last join answered. */
  ms: number;
  connectionsPerSecond: number;
  /** CPU of the instances and Redis per connection opened and joined, in µs (the window runs on for STORM_SETTLE_MS after the last join). */
  serverCpuUsPerConnection: number;
  /** Of which the instances'. */
  instanceCpuUsPerConnection: number;
  driverCpuUsPerConnection: number;
  error?: string;
}


/**
 * Workload 7: a connection storm. `count` clients connect at once (at most
 * STORM_IN_FLIGHT in flight per driver) and each joins a room of 20, on a
 * fresh system. Under AUTH_MODE=jwt each client carries its own token (its
 * own user), signed before the window opens, so what the window shows beside
 * the same storm without tokens is what verifying them costs.
 */
export async function connectionStorm(setup: Setup, count: number): Promise<StormPoint> {
  const { system, drivers } = setup;
  const auth = system.auth;
  const tokens = auth ? await Promise.all(Array.from({ length: count }, (_, n) => mintToken(auth, `storm-user-${n}`, `user ${n}`))) : [];
  const memberships = Array.from({ length: count }, (_, n) => [`storm-${Math.floor(n / 20)}`]);
  const specs = place(setup, memberships, 'alternate', (instance, n) => tokenUrl(system.bareUrls[instance], tokens[n]));
  await sleep(500);
  const cpuBefore = sumCpuMs(system.pids);
  const instancesBefore = sumCpuMs(system.instancePids);
  const driverBefore = sumCpuMs(drivers.pids);
  const started = performance.now();
  await drivers.all<'opened'>((i) => ({ op: 'open', system: system.name, clients: specs[i], inFlight: STORM_IN_FLIGHT }));
  const ms = performance.now() - started;
  await sleep(STORM_SETTLE_MS);
  const perConnection = (cpu: number) => Number(((cpu * 1000) / count).toFixed(1));
  const point: StormPoint = {
    system: system.name,
    auth: auth ? 'jwt' : 'none',
    connections: count,
    ms: Math.round(ms),
    connectionsPerSecond: Math.round((count * 1000) / ms),
    serverCpuUsPerConnection: perConnection(sumCpuMs(system.pids) - cpuBefore),
    instanceCpuUsPerConnection: perConnection(sumCpuMs(system.instancePids) - instancesBefore),
    driverCpuUsPerConnection: perConnection(sumCpuMs(drivers.pids) - driverBefore),
  };
  await closeAll(setup);
  return point;
}
