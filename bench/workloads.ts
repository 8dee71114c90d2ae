// The workloads, identical for every system: clients connected directly to
// the instances (alternating), rooms, senders at a fixed offered rate.
import { performance } from 'node:perf_hooks';
import type { Client, Running } from './systems.js';
import { median, percentile, rssKb, sumCpuMs } from './measure.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RateResult {
  system: string;
  workload: string;
  /** How the clients reach the instances. */
  via: 'direct' | 'haproxy';
  offeredPerSecond: number;
  sent: number;
  deliveries: number;
  expected: number;
  lost: number;
  deliveredPerSecond: number;
  serverCpuMsPer1000: number;
  /** HAProxy's CPU per 1,000 deliveries, when the clients go through it (the same proxy for every system). */
  balancerCpuMsPer1000?: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  driverCpuShare: number;
}

export interface Shape {
  name: string;
  rooms: number;
  roomSize: number;
  sendersPerRoom: number;
}

export const ROOMS_OF_20: Shape = { name: 'rooms of 20', rooms: 5, roomSize: 20, sendersPerRoom: 2 };
export const ONE_ROOM_OF_100: Shape = { name: 'one room of 100', rooms: 1, roomSize: 100, sendersPerRoom: 10 };

interface Connected {
  clients: Client[];
  rooms: string[];
  senders: Array<{ client: Client; room: string }>;
  onText: { current: (text: string) => void };
}

async function connectShape(system: Running, shape: Shape): Promise<Connected> {
  const onText = { current: (_text: string) => undefined as void };
  const clients: Client[] = [];
  const rooms = Array.from({ length: shape.rooms }, (_, r) => `bench-${shape.roomSize}-${r}-${Date.now()}`);
  const senders: Array<{ client: Client; room: string }> = [];
  let n = 0;
  for (const room of rooms) {
    for (let i = 0; i < shape.roomSize; i++) {
      const client = await system.connect(system.urls[n++ % system.urls.length], (text) => onText.current(text));
      await client.join(room);
      clients.push(client);
      if (i < shape.sendersPerRoom) senders.push({ client, room });
    }
  }
  await sleep(300); // subscriptions settle
  return { clients, rooms, senders, onText };
}

/** Sends at `deliveriesPerSecond / roomSize` messages a second for `seconds`, and measures. */
async function measureRate(system: Running, shape: Shape, connected: Connected, deliveriesPerSecond: number, seconds: number): Promise<RateResult> {
  const messagesPerSecond = deliveriesPerSecond / shape.roomSize;
  const window = `w${Math.random().toString(36).slice(2, 8)}`;
  const latencies: number[] = [];
  let deliveries = 0;
  connected.onText.current = (text) => {
    if (!text.startsWith(window)) return;
    deliveries++;
    latencies.push(performance.now() - Number(text.slice(text.lastIndexOf(':') + 1)));
  };
  const cpuBefore = sumCpuMs(system.pids);
  const balancerBefore = sumCpuMs(system.balancerPids);
  const driverBefore = process.cpuUsage();
  const started = performance.now();
  let sent = 0;
  let senderIndex = 0;
  // A 5 ms tick; each tick sends what the offered rate owes by now.
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - started) / 1000;
      const owed = Math.min(seconds, elapsed) * messagesPerSecond;
      while (sent < owed) {
        const { client, room } = connected.senders[senderIndex++ % connected.senders.length];
        client.send(room, `${window}:${sent}:${performance.now()}`);
        sent++;
      }
      if (elapsed >= seconds) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  // Let what is in flight arrive (or not: what does not is lost).
  const expected = sent * shape.roomSize;
  const deadline = performance.now() + 3000;
  while (deliveries < expected && performance.now() < deadline) await sleep(20);
  const wall = performance.now() - started;
  const cpu = sumCpuMs(system.pids) - cpuBefore;
  const balancerCpu = sumCpuMs(system.balancerPids) - balancerBefore;
  const per1000 = (ms: number) => Number(((ms / Math.max(1, deliveries)) * 1000).toFixed(3));
  const driver = process.cpuUsage(driverBefore);
  connected.onText.current = () => undefined;
  return {
    system: system.name,
    workload: shape.name,
    via: system.balancerPids.length > 0 ? 'haproxy' : 'direct',
    offeredPerSecond: deliveriesPerSecond,
    sent,
    deliveries,
    expected,
    lost: Math.max(0, expected - deliveries),
    deliveredPerSecond: Math.round(deliveries / seconds),
    serverCpuMsPer1000: per1000(cpu),
    ...(system.balancerPids.length > 0 ? { balancerCpuMsPer1000: per1000(balancerCpu) } : {}),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p95Ms: Number(percentile(latencies, 95).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
    driverCpuShare: Number(((driver.user + driver.system) / 1000 / wall).toFixed(3)),
  };
}

/** Workloads 1 and 2: cost and latency at each fixed rate. */
export async function fixedRates(system: Running, shape: Shape, rates: number[], seconds: number): Promise<RateResult[]> {
  const connected = await connectShape(system, shape);
  try {
    await measureRate(system, shape, connected, rates[0], 1); // warm-up
    const results = [];
    for (const rate of rates) results.push(await measureRate(system, shape, connected, rate, seconds));
    return results;
  } finally {
    for (const client of connected.clients) client.close();
  }
}

/**
 * Workload 3: the highest delivered rate with p99 ≤ 100 ms and nothing lost.
 * A ladder of offered rates, `factor` apart, climbed until a step fails (or
 * `maxSteps` pass: then the peak is at least the top, and says so).
 */
export async function peak(
  system: Running,
  shape: Shape,
  ladder: { start: number; factor: number; seconds: number; maxSteps: number },
): Promise<{ peakPerSecond: number; reachedTop: boolean; steps: RateResult[] }> {
  const connected = await connectShape(system, shape);
  try {
    const steps: RateResult[] = [];
    let rate = ladder.start;
    let best = 0;
    for (let i = 0; i < ladder.maxSteps; i++) {
      const result = await measureRate(system, shape, connected, rate, ladder.seconds);
      steps.push(result);
      if (result.lost > 0 || result.p99Ms > 100) return { peakPerSecond: best, reachedTop: false, steps };
      best = result.deliveredPerSecond;
      rate = Math.round(rate * ladder.factor);
    }
    return { peakPerSecond: best, reachedTop: true, steps };
  } finally {
    for (const client of connected.clients) client.close();
  }
}

/** Workloads 4 and 5: connect `count` clients at once; time it, then resident memory per idle connection. */
export async function connectionsAndMemory(system: Running, count: number): Promise<{ stormMs: number; bytesPerConnection: number }> {
  await sleep(500);
  const before = system.instancePids.reduce((sum, pid) => sum + rssKb(pid), 0);
  const clients: Client[] = [];
  const started = performance.now();
  const inFlight = 250;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const n = next++;
        clients.push(await system.connect(system.urls[n % system.urls.length], () => undefined));
      }
    }),
  );
  const stormMs = performance.now() - started;
  // Idle means after the handshakes' garbage is collected: sampled for 6 s, the
  // median of the last 3 s, rather than one reading that lands before or after
  // a collection by chance.
  const samples: number[] = [];
  for (let i = 0; i < 12; i++) {
    await sleep(500);
    samples.push(system.instancePids.reduce((sum, pid) => sum + rssKb(pid), 0));
  }
  const after = median(samples.slice(6));
  for (const client of clients) client.close();
  return { stormMs: Math.round(stormMs), bytesPerConnection: Math.round(((after - before) * 1024) / count) };
}
