// The systems under test, started the same way (2 instances + 1 Redis by
// default, or one process without Redis for the ceiling), every peer compiled:
// the service's tsc output, the Socket.IO peer's tsc output, the Centrifuge
// peer's Go binary. Nothing runs through a loader.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { startInstance } from '../scripts/local/instance.js';
import { localAuth, localAuthEnv, tokenUrl, toolToken, type LocalAuth } from '../scripts/local/auth.js';
import { startRedis, type RedisServer } from '../scripts/local/redis.js';
import { freePort } from '../scripts/local/ports.js';
import { makeSelfSignedCert } from '../scripts/local/cert.js';
import { startHaproxy } from '../scripts/local/haproxy.js';
import { eachLine, track, exitOf } from '../scripts/local/children.js';
import { CLIENTS, type Connect, type SystemName } from './clients.js';
import { BENCH_HISTORY_LIMIT, BENCH_MAX_ROOMS_PER_CONNECTION } from './limits.js';

export type { SystemName } from './clients.js';

export interface Running {
  name: SystemName;
  /** Where clients connect: each instance directly, or the one load balancer (with the tools' token under --auth jwt). */
  urls: string[];
  /** The same without a token, and the secret tokens are signed with (jwt only): for clients that each carry their own. */
  bareUrls: string[];
  auth?: LocalAuth;
  /** Server-side processes whose CPU is counted: the instances and Redis. */
  pids: number[];
  instancePids: number[];
  redisPid?: number;
  redisUrl?: string;
  /** HAProxy, when the clients go through it; its CPU is reported apart. */
  balancerPids: number[];
  connect: Connect;
  /** Bytes of live heap per instance after a forced collection (needs `inspect` for the Node systems). */
  heaps(): Promise<number[]>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Clients connect through HAProxy (TLS) instead of to each instance. */
  balancer?: boolean;
  /** Run the instances under `node --cpu-prof`, writing their profiles here when stopped. */
  profileDir?: string;
  /** Open the Node inspector on loopback, so `heaps()` can force a collection. */
  inspect?: boolean;
  /** Instances per system (default 2). */
  instances?: number;
  /** Pin every server process (all threads) to these cores, e.g. "0-1". */
  cores?: string;
  /** jwt: the service runs AUTH_MODE=jwt and its clients connect with a token (carried in the URLs). */
  auth?: 'none' | 'jwt';
}

const root = fileURLToPath(new URL('..', import.meta.url));
const SOCKETIO_SOURCE = join(root, 'bench/peer/server.ts');
const SOCKETIO_ENTRY = join(root, 'bench/peer/dist/server.js');
export const CENTRIFUGE_BINARY = join(root, '.tools/bin/centrifuge-peer');

/** The same limits for every system: what the service allows a bench client, the history each keeps. */
const BENCH_ENV = {
  RATE_LIMIT: '100000',
  LOG_LEVEL: 'warn',
  DRAIN_SECONDS: '0',
  MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
  HISTORY_LIMIT: String(BENCH_HISTORY_LIMIT),
  MAX_ROOMS_PER_CONNECTION: String(BENCH_MAX_ROOMS_PER_CONNECTION),
};

let peersBuilt = false;
/** Compiles the Socket.IO peer when its output is missing or older, and builds the Go peer pinned. */
export function buildPeers(): void {
  if (peersBuilt) return;
  if (!existsSync(SOCKETIO_ENTRY) || statSync(SOCKETIO_ENTRY).mtimeMs < statSync(SOCKETIO_SOURCE).mtimeMs) {
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'bench/peer/tsconfig.json')], { stdio: 'inherit' });
  }
  execFileSync('bash', [join(root, 'scripts/tools/centrifuge-peer.sh')], { stdio: 'inherit' });
  peersBuilt = true;
}

/** Pins every thread of a running process to `cores` (taskset -a). */
export function pin(pid: number, cores: string | undefined): void {
  if (cores) execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}

const profileFlags = (dir: string | undefined) => (dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);

interface Server {
  url: string;
  pid: number;
  /** Forces a collection and answers the live heap in bytes. */
  heap(): Promise<number>;
  stop(): Promise<void>;
}

async function waitReady(url: string, exited: () => boolean, what: string): Promise<void> {
  for (let i = 0; ; i++) {
    if (exited()) throw new Error(`${what} exited before it was ready`);
    if (await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false)) return;
    if (i > 400) throw new Error(`${what} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** HeapProfiler.collectGarbage then Runtime.getHeapUsage over the inspector protocol. */
async function inspectorHeap(inspectPort: number | undefined): Promise<number> {
  if (inspectPort === undefined) return NaN;
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const call = (id: number, method: string) =>
    new Promise<{ usedSize?: number }>((resolve) => {
      const onMessage = (data: unknown) => {
        const reply = JSON.parse(String(data));
        if (reply.id !== id) return;
        ws.off('message', onMessage);
        resolve(reply.result);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method }));
    });
  try {
    await call(1, 'HeapProfiler.collectGarbage');
    return (await call(2, 'Runtime.getHeapUsage')).usedSize ?? NaN;
  } finally {
    ws.close();
  }
}

async function startNode(id: string, redisUrl: string | undefined, kind: 'service' | 'socketio', options: SystemOptions & { localAuth?: LocalAuth }): Promise<Server> {
  const inspectPort = options.inspect ? await freePort() : undefined;
  const nodeArgs = [...profileFlags(options.profileDir), ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [])];
  const signal = options.profileDir ? 'SIGTERM' : 'SIGKILL'; // a profiled process writes its profile when it exits on its own
  if (kind === 'service') {
    const instance = await startInstance({ instanceId: id, redisUrl, env: { ...BENCH_ENV, ...(options.localAuth ? localAuthEnv(options.localAuth) : {}) }, nodeArgs });
    return { url: instance.url, pid: instance.pid, heap: () => inspectorHeap(inspectPort), stop: async () => void (await instance.stop(signal)) };
  }
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [...nodeArgs, SOCKETIO_ENTRY], {
      env: { ...process.env, ...BENCH_ENV, PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: id, REDIS_URL: redisUrl },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    }),
  );
  // The inspector announces itself on stderr; anything else the peer says is passed on.
  eachLine(child.stderr, (line) => {
    if (!/^(Debugger (listening|ending|attached)|For help, see|Waiting for the debugger)/.test(line)) process.stderr.write(`${line}\n`);
  });
  return startedChild(child, port, `Socket.IO peer ${id}`, signal, () => inspectorHeap(inspectPort));
}

async function startCentrifuge(id: string, redisUrl: string): Promise<Server> {
  const port = await freePort();
  const child = track(
    spawn(CENTRIFUGE_BINARY, [], {
      env: { ...process.env, ...BENCH_ENV, PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: id, REDIS_URL: redisUrl },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
    }),
  );
  const heap = async () => ((await (await fetch(`http://127.0.0.1:${port}/debug/gc`)).json()) as { heapUsed: number }).heapUsed;
  return startedChild(child, port, `Centrifuge peer ${id}`, 'SIGKILL', heap);
}

async function startedChild(child: ReturnType<typeof spawn>, port: number, what: string, signal: NodeJS.Signals, heap: () => Promise<number>): Promise<Server> {
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, () => child.exitCode !== null, what);
  return {
    url,
    pid: child.pid!,
    heap,
    stop: async () => {
      child.kill(signal);
      await exitOf(child);
    },
  };
}

/** HAProxy terminating TLS in front of the instances, as `npm run local` runs it. */
async function startBalancer(ports: number[]): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-haproxy-'));
  const [httpsPort, httpPort] = [await freePort(), await freePort()];
  const haproxy = await startHaproxy({
    stateDir,
    httpsPort,
    httpPort,
    certPath: makeSelfSignedCert(stateDir),
    statsSocket: join(stateDir, 'admin.sock'),
    backends: ports.map((port, i) => ({ name: `i${i}`, port })),
  });
  // Until both backends pass their first health check, round robin would skip one.
  for (let i = 0; Object.values(await haproxy.serverStatus()).some((status) => status !== 'UP'); i++) {
    if (i > 100) throw new Error('HAProxy never saw both benchmark instances up');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `https://127.0.0.1:${httpsPort}`,
    pid: haproxy.pid,
    stop: async () => {
      await haproxy.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export async function startSystem(name: SystemName, options: SystemOptions = {}): Promise<Running> {
  buildPeers();
  const redis: RedisServer | undefined = name === 'ceiling' ? undefined : await startRedis();
  const ids = name === 'ceiling' ? ['ceiling'] : Array.from({ length: options.instances ?? 2 }, (_, i) => String.fromCharCode(97 + i));
  const servers: Server[] = [];
  const auth = options.auth === 'jwt' && (name === 'service' || name === 'ceiling') ? localAuth() : undefined;
  const token = await toolToken(auth);
  try {
    for (const id of ids) {
      if (name === 'centrifuge') servers.push(await startCentrifuge(id, redis!.url));
      else servers.push(await startNode(id, redis?.url, name === 'socketio' ? 'socketio' : 'service', { ...options, localAuth: auth }));
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    await redis?.stop();
    throw error;
  }
  for (const pid of [...servers.map((s) => s.pid), ...(redis ? [redis.pid] : [])]) pin(pid, options.cores);
  const balancer = options.balancer ? await startBalancer(servers.map((s) => Number(new URL(s.url).port))) : undefined;
  if (balancer) pin(balancer.pid, options.cores);
  const bareUrls = balancer ? [balancer.url] : servers.map((s) => s.url);
  return {
    name,
    urls: bareUrls.map((url) => tokenUrl(url, token)),
    bareUrls,
    auth,
    pids: [...servers.map((s) => s.pid), ...(redis ? [redis.pid] : [])],
    instancePids: servers.map((s) => s.pid),
    redisPid: redis?.pid,
    redisUrl: redis?.url,
    balancerPids: balancer ? [balancer.pid] : [],
    connect: CLIENTS[name],
    heaps: () => Promise.all(servers.map((s) => s.heap())),
    stop: async () => {
      await balancer?.stop();
      await Promise.all(servers.map((s) => s.stop()));
      await redis?.stop();
    },
  };
}
