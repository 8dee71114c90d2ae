// The fault scenarios. Each starts its own local cluster, drives traffic,
// does its damage, and returns figures; it never judges: run.ts and the tests do.
import { createConnection, type Socket } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { keys } from '../service/src/bus/keys.js';
import { startCluster, type Cluster, type ClusterOptions } from '../scripts/local/cluster.js';
import { isAlive } from '../scripts/local/children.js';
import { tokenUrl, type AuthMode } from '../scripts/local/auth.js';
import { Traffic, percentile, type Verdict } from './traffic.js';

export interface Figures {
  scenario: string;
  verdict?: Verdict;
  [figure: string]: unknown;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const p99 = (values: number[]) => Math.round(percentile(values, 99));

let auth: AuthMode = 'none';
/** `npm run chaos -- --auth jwt`: every cluster takes tokens, and every client here connects with one. */
export function useAuth(mode: AuthMode): void {
  auth = mode;
}
/** Where a client connects: the balancer, or one instance, with the cluster's tool token when it has one. */
const socketUrl = (cluster: Cluster, instanceUrl?: string) =>
  tokenUrl(instanceUrl === undefined ? cluster.wsUrl : `${instanceUrl.replace('http', 'ws')}/ws`, cluster.toolToken);

/** The traffic each cluster's scenario started, stopped with it however the scenario ends. */
const loads = new WeakMap<Cluster, Traffic[]>();

async function withCluster<T>(options: ClusterOptions, run: (cluster: Cluster) => Promise<T>): Promise<T> {
  const cluster = await startCluster({ instances: 3, auth, ...options, env: { DRAIN_SECONDS: '3', HISTORY_LIMIT: '100000', ...options.env } });
  try {
    return await run(cluster);
  } finally {
    for (const load of loads.get(cluster) ?? []) load.close();
    await cluster.stop();
  }
}

function traffic(cluster: Cluster, label: string, rate = 5): Traffic {
  const load = new Traffic({ wsUrl: socketUrl(cluster), rooms: 4, clientsPerRoom: 6, ratePerClient: rate, label: `${label}-${Date.now()}` });
  loads.set(cluster, [...(loads.get(cluster) ?? []), load]);
  return load;
}

/** 1. Every instance restarted one after another (SIGTERM, drain) under load. */
export async function rollingRestart(): Promise<Figures> {
  return withCluster({}, async (cluster) => {
    const load = traffic(cluster, 'rolling');
    await load.start();
    await sleep(2000);
    const started = Date.now();
    const exitCodes = [];
    for (let i = 0; i < cluster.instances.length; i++) exitCodes.push(await cluster.restartInstance(i));
    const restartMs = Date.now() - started;
    await sleep(2000);
    const figures = {
      restartMs,
      longestClientOutageMs: load.longestOutageMs(),
      longestSilenceMs: load.longestSilenceMs(started, started + restartMs),
      p99BaselineMs: p99(load.latencies(started - 2000, started)),
      p99DuringMs: p99(load.latencies(started, started + restartMs)),
    };
    const verdict = await load.finish(cluster.redis!.url);
    return { scenario: 'rolling-restart', verdict, exitCodes, ...figures };
  });
}

/** 2. kill -9 of one instance under load: its clients come back through HAProxy, presence heals. */
export async function killInstance(): Promise<Figures> {
  return withCluster({}, async (cluster) => {
    const load = traffic(cluster, 'kill');
    await load.start();
    await sleep(2000);
    const victim = cluster.instances[1];
    const victims = load.clients.filter((c) => c.session.instance === victim.id).length;
    const killedAt = Date.now();
    victim.kill();
    await victim.exited;
    let reconnectedMs = NaN;
    let presenceMs = NaN;
    while (Date.now() - killedAt < 45_000 && Number.isNaN(presenceMs)) {
      if (Number.isNaN(reconnectedMs) && load.clients.every((c) => c.session.connected)) reconnectedMs = Date.now() - killedAt;
      if (load.presenceRight()) presenceMs = Date.now() - killedAt;
      await sleep(100);
    }
    await sleep(1000);
    const recoveredBy = killedAt + (Number.isNaN(reconnectedMs) ? 30_000 : reconnectedMs + 1000);
    const figures = {
      clientsOnVictim: victims,
      reconnectedMs,
      longestClientOutageMs: load.longestOutageMs(),
      presenceRightMs: presenceMs,
      p99BaselineMs: p99(load.latencies(killedAt - 2000, killedAt)),
      p99DuringMs: p99(load.latencies(killedAt, recoveredBy)),
    };
    const verdict = await load.finish(cluster.redis!.url);
    await cluster.restartInstance(1).catch(() => undefined);
    return { scenario: 'kill-9', verdict, ...figures };
  });
}

/** 3. Redis restarted under load, with persistence on. */
export async function redisRestart(downMs = 3000): Promise<Figures> {
  return withCluster({ redisPersistence: true }, async (cluster) => {
    const load = traffic(cluster, 'redis');
    await load.start();
    await sleep(2000);
    const stoppedAt = Date.now();
    cluster.redis!.kill('SIGTERM');
    await sleep(downMs);
    await cluster.redis!.restart();
    const ready = async () =>
      (await Promise.all(cluster.instances.map((i) => fetch(`${i.url}/readyz`).then((r) => r.status, () => 0)))).every((s) => s === 200);
    while (!(await ready())) await sleep(50);
    const outageMs = Date.now() - stoppedAt;
    await sleep(3000);
    const figures = {
      outageMs,
      longestSilenceMs: load.longestSilenceMs(stoppedAt, stoppedAt + outageMs + 3000),
      clientsDisconnected: load.clients.filter((c) => c.outagesMs.length > 0).length,
      p99BaselineMs: p99(load.latencies(stoppedAt - 2000, stoppedAt)),
      p99DuringMs: p99(load.latencies(stoppedAt, stoppedAt + outageMs + 2000)),
    };
    const verdict = await load.finish(cluster.redis!.url);
    return { scenario: 'redis-restart', verdict, ...figures };
  });
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}
const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** 4. Redis frozen (unreachable, connections hanging) for a while. */
export async function redisUnreachable(seconds = 60): Promise<Figures> {
  return withCluster({}, async (cluster) => {
    const load = traffic(cluster, 'frozen', 2);
    await load.start();
    await sleep(2000);
    const before = cluster.instances.map((i) => rssKb(i.pid));
    cluster.redis!.kill('SIGSTOP');
    const frozenAt = Date.now();
    let notReadyMs = NaN;
    const statuses = () => Promise.all(cluster.instances.map((i) => fetch(`${i.url}/readyz`).then((r) => r.status, () => 0)));
    while (Date.now() - frozenAt < seconds * 1000) {
      if (Number.isNaN(notReadyMs) && (await statuses()).every((s) => s === 503)) notReadyMs = Date.now() - frozenAt;
      await sleep(500);
    }
    const connectedDuring = load.clients.filter((c) => c.session.connected).length;
    const during = cluster.instances.map((i) => rssKb(i.pid));
    cluster.redis!.kill('SIGCONT');
    const resumedAt = Date.now();
    while (!(await statuses()).every((s) => s === 200)) await sleep(50);
    const readyAgainMs = Date.now() - resumedAt;
    await sleep(3000);
    const after = cluster.instances.map((i) => rssKb(i.pid));
    const p99BaselineMs = p99(load.latencies(frozenAt - 2000, frozenAt));
    // Nothing is delivered while Redis is frozen; what it stored as it woke arrives after.
    const p99DuringMs = p99(load.latencies(frozenAt, resumedAt + 3000));
    const longestSilenceMs = load.longestSilenceMs(frozenAt, resumedAt + 3000);
    const verdict = await load.finish(cluster.redis!.url);
    const alive = cluster.instances.every((i) => isAlive(i.pid));
    return {
      scenario: 'redis-unreachable',
      verdict,
      seconds,
      notReadyAfterMs: notReadyMs,
      clientsConnectedDuring: `${connectedDuring}/${load.clients.length}`,
      readyAgainMs,
      longestSilenceMs,
      p99BaselineMs,
      p99DuringMs,
      rssKbBefore: before,
      rssKbFrozenEnd: during,
      rssKbAfter: after,
      instancesAlive: alive,
    };
  });
}

/** 5a. One client flooding 10,000 messages a second; the others' p99 against their baseline. */
export async function flood(phaseMs = 10_000): Promise<Figures> {
  return withCluster({}, async (cluster) => {
    const load = traffic(cluster, 'flood');
    await load.start();
    await sleep(1000);
    const baselineStart = Date.now();
    await sleep(phaseMs);
    const floodStart = Date.now();
    const floodRoom = `flood-${Date.now()}`;
    let floodSent = 0;
    let closes1008 = 0;
    let connections = 0;
    const floodErrors: Record<string, number> = {};
    let stop = false;
    // Joins, then sends 10,000 a second (100 every 10 ms); when closed, connects again.
    const flooder = (async () => {
      while (!stop) {
        const ws = new WebSocket(socketUrl(cluster), { rejectUnauthorized: false });
        connections++;
        await new Promise<void>((resolve) => {
          let pump: NodeJS.Timeout | undefined;
          ws.on('open', () => ws.send(JSON.stringify({ type: 'join', room: floodRoom, name: 'flooder' })));
          ws.on('message', (data) => {
            const frame = JSON.parse(String(data));
            if (frame.type === 'error') floodErrors[frame.code] = (floodErrors[frame.code] ?? 0) + 1;
            if (frame.type !== 'joined' || pump) return;
            pump = setInterval(() => {
              for (let i = 0; i < 100 && ws.readyState === 1; i++, floodSent++) ws.send(`{"type":"send","room":"${floodRoom}","text":"x${floodSent}"}`);
              if (stop) ws.close();
            }, 10);
          });
          ws.on('close', (code) => {
            if (code === 1008) closes1008++;
            clearInterval(pump);
            resolve();
          });
          ws.on('error', () => resolve());
        });
      }
    })();
    await sleep(phaseMs);
    stop = true;
    await flooder;
    const baseline = p99(load.latencies(baselineStart, floodStart));
    const during = p99(load.latencies(floodStart, floodStart + phaseMs));
    const redis = new Redis(cluster.redis!.url);
    const floodStored = await redis.xlen(keys.history(floodRoom)).finally(() => redis.disconnect());
    const verdict = await load.finish(cluster.redis!.url);
    return {
      scenario: 'flood',
      verdict,
      floodSentPerSecond: Math.round(floodSent / (phaseMs / 1000)),
      floodStoredPerSecond: Math.round(floodStored / (phaseMs / 1000)),
      flooderConnections: connections,
      flooderClosedWith1008: closes1008,
      flooderErrors: floodErrors,
      p99BaselineMs: baseline,
      p99DuringMs: during,
      p99Ratio: Number((during / Math.max(1, baseline)).toFixed(2)),
    };
  });
}

/** 5b. Oversized frames, invalid UTF-8 and binary frames sent while traffic flows. */
export async function badFrames(): Promise<Figures> {
  return withCluster({}, async (cluster) => {
    const load = traffic(cluster, 'frames');
    await load.start();
    await sleep(2000);
    const abuseAt = Date.now();
    const closeCodes: number[] = [];
    const errorCodes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const ws = new WebSocket(socketUrl(cluster), { rejectUnauthorized: false });
      await new Promise<void>((resolve) => ws.on('open', () => resolve()));
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data));
        if (frame.type === 'error') errorCodes.push(frame.code);
      });
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }); // invalid UTF-8
      ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
      ws.send('{"type":"send","room":"x"'); // bad JSON
      await sleep(100);
      const open = ws.readyState === 1;
      ws.send('x'.repeat(20_000)); // over the 16 KiB hard limit
      closeCodes.push(await closed);
      if (!open) closeCodes.push(-1);
    }
    const abuseEnd = Date.now();
    await sleep(1500); // traffic goes on after the abuse: still nothing lost
    const figures = {
      closeCodes: [...new Set(closeCodes)],
      errorFrames: errorCodes.length,
      errorCodes: [...new Set(errorCodes)],
      p99BaselineMs: p99(load.latencies(abuseAt - 2000, abuseAt)),
      p99DuringMs: p99(load.latencies(abuseAt, abuseEnd)),
    };
    const verdict = await load.finish(cluster.redis!.url);
    return { scenario: 'bad-frames', verdict, ...figures };
  });
}

/** 5c. Half-open connections: a peer that stops answering is reclaimed by the ping timeout. */
export async function halfOpen(pingMs = 1000): Promise<Figures> {
  return withCluster({ instances: 1, env: { PING_INTERVAL_MS: String(pingMs) } }, async (cluster) => {
    const instance = cluster.instances[0];
    const connections = async () => Number(/^chat_connections\{[^}]*\} (\d+)/m.exec(await (await fetch(`${instance.url}/metrics`)).text())?.[1]);
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 50; i++) {
      const ws = new WebSocket(socketUrl(cluster, instance.url), { autoPong: false });
      await new Promise<void>((resolve) => ws.on('open', () => resolve()));
      // Stop reading: to the server this peer is gone, though TCP still stands.
      (ws as unknown as { _socket: Socket })._socket.pause();
      sockets.push(ws);
    }
    const before = await connections();
    const start = Date.now();
    while ((await connections()) > 0 && Date.now() - start < 20 * pingMs) await sleep(100);
    const reclaimedMs = Date.now() - start;
    const after = await connections();
    for (const ws of sockets) ws.terminate();
    return { scenario: 'half-open', pingIntervalMs: pingMs, connectionsBefore: before, connectionsAfter: after, reclaimedWithinMs: reclaimedMs };
  });
}

/** 5d. Slow upgrade requests (slowloris) do not starve other clients and are cut off. */
export async function slowloris(count = 300): Promise<Figures> {
  return withCluster({ instances: 1 }, async (cluster) => {
    const instance = cluster.instances[0];
    const slow: Socket[] = [];
    let closedByServer = 0;
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const socket = createConnection({ host: '127.0.0.1', port: instance.port });
      socket.on('error', () => undefined);
      socket.on('close', () => closedByServer++);
      socket.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
      slow.push(socket);
    }
    const trickle = setInterval(() => {
      for (const socket of slow) if (!socket.destroyed) socket.write('X-Slow: 1\r\n');
    }, 1000);
    const connectTimes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = Date.now();
      const ws = new WebSocket(socketUrl(cluster, instance.url));
      await new Promise<void>((resolve, reject) => {
        ws.on('message', () => resolve());
        ws.on('error', reject);
      });
      connectTimes.push(Date.now() - t0);
      ws.close();
      await sleep(250);
    }
    while (closedByServer < count && Date.now() - started < 30_000) await sleep(200);
    clearInterval(trickle);
    const cutOffMs = Date.now() - started;
    for (const socket of slow) socket.destroy();
    return {
      scenario: 'slowloris',
      slowSockets: count,
      otherClientsConnectP99Ms: p99(connectTimes),
      slowSocketsClosedByServer: closedByServer,
      allCutOffWithinMs: cutOffMs,
    };
  });
}

/** 5e. Churn: connects and disconnects at a steady pace; memory and handles afterwards. */
export async function churn(perMinute = 5000, minutes = 10, warmupMinutes = 5): Promise<Figures> {
  return withCluster({ instances: 2 }, async (cluster) => {
    const pids = cluster.instances.map((i) => i.pid);
    const sample = () => pids.map((pid) => ({ rssKb: rssKb(pid), fds: openFiles(pid) }));
    const intervalMs = 60_000 / perMinute;
    let done = 0;
    let failed = 0;
    const one = async (n: number) => {
      try {
        const ws = new WebSocket(socketUrl(cluster), { rejectUnauthorized: false });
        await new Promise<void>((resolve, reject) => {
          ws.on('message', (data) => {
            const frame = JSON.parse(String(data));
            if (frame.type === 'hello') ws.send(JSON.stringify({ type: 'join', room: `churn-${n % 50}`, name: 'c' }));
            if (frame.type === 'joined') ws.close();
          });
          ws.on('close', () => resolve());
          ws.on('error', reject);
        });
        done++;
      } catch {
        failed++;
      }
    };
    // Paced against the clock, not by sleeping between starts, so timer drift
    // does not lower the rate.
    const runFor = async (ms: number) => {
      const begin = Date.now();
      const pending = new Set<Promise<void>>();
      for (let n = 0; n * intervalMs < ms; n++) {
        const due = begin + n * intervalMs;
        if (due > Date.now()) await sleep(due - Date.now());
        const p = one(n).finally(() => pending.delete(p));
        pending.add(p);
      }
      await Promise.all(pending);
      return Date.now() - begin;
    };
    // Resident memory along the way: a leak keeps climbing, a heap settling flattens.
    const timeline: Array<{ minute: number; rssMb: number[]; fds: number[] }> = [];
    const startedAt = Date.now();
    const sampler = setInterval(() => {
      const now = sample();
      timeline.push({ minute: Number(((Date.now() - startedAt) / 60_000).toFixed(1)), rssMb: now.map((s) => Math.round(s.rssKb / 1024)), fds: now.map((s) => s.fds) });
    }, 30_000);
    try {
      // Warm up at the same pace first: the start figure is then a process that
      // has grown its heap to this load's working size, not a cold one.
      const cold = sample();
      await runFor(warmupMinutes * 60_000);
      await sleep(6000);
      const start = sample();
      const doneBefore = done;
      const tookMs = await runFor(minutes * 60_000);
      const connections = done - doneBefore;
      await sleep(6000); // presence writes and timers of the last connections settle
      const end = sample();
      const growth = (key: 'rssKb' | 'fds') => end.map((e, i) => Number((((e[key] - start[i][key]) / start[i][key]) * 100).toFixed(1)));
      return {
        scenario: 'churn',
        perMinute,
        minutes,
        warmupMinutes,
        connections,
        connectionsPerMinute: Math.round(connections / (tookMs / 60_000)),
        failed,
        cold,
        start,
        end,
        timeline,
        rssGrowthPct: growth('rssKb'),
        fdGrowthPct: growth('fds'),
      };
    } finally {
      clearInterval(sampler);
    }
  });
}
