// The systems under test, started the same way (2 instances + 1 Redis, or one
// process without Redis for the ceiling), and a client for each that the
// driver uses without knowing which it talks to.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { io as ioClient, type Socket } from 'socket.io-client';
import { startInstance, type Instance } from '../scripts/local/instance.js';
import { startRedis, type RedisServer } from '../scripts/local/redis.js';
import { freePort } from '../scripts/local/ports.js';
import { makeSelfSignedCert } from '../scripts/local/cert.js';
import { startHaproxy } from '../scripts/local/haproxy.js';
import { track, exitOf } from '../scripts/local/children.js';
import { joinFrame, sendFrame } from '../service/src/protocol/frames.js';
import { localAuth, localAuthEnv, tokenUrl, toolToken } from '../scripts/local/auth.js';

export type SystemName = 'service' | 'socketio' | 'ceiling';

export interface Client {
  send(room: string, text: string): void;
  join(room: string): Promise<void>;
  close(): void;
}

export interface Running {
  name: SystemName;
  /** Where clients connect: each instance directly, or the one load balancer. */
  urls: string[];
  /** Server-side processes whose CPU is counted: the instances and Redis. */
  pids: number[];
  instancePids: number[];
  /** HAProxy, when the clients go through it; its CPU is reported apart. */
  balancerPids: number[];
  connect(url: string, onText: (text: string) => void): Promise<Client>;
  stop(): Promise<void>;
}

const PEER = fileURLToPath(new URL('./peer/server.ts', import.meta.url));
const BENCH_ENV = { RATE_LIMIT: '100000', LOG_LEVEL: 'warn', DRAIN_SECONDS: '0', MAX_BUFFERED_BYTES: String(64 * 1024 * 1024) };

// The local load balancer's certificate is self-signed.
const TLS = { rejectUnauthorized: false };

async function serviceClient(url: string, onText: (text: string) => void, token?: string): Promise<Client> {
  const ws = new WebSocket(tokenUrl(`${url.replace('http', 'ws')}/ws`, token), { perMessageDeflate: false, ...TLS });
  const joins = new Map<string, () => void>();
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    if (frame.type === 'message') onText(frame.text);
    else if (frame.type === 'joined') joins.get(frame.room)?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    send: (room, text) => ws.send(sendFrame(room, text)),
    join: (room) =>
      new Promise<void>((resolve) => {
        joins.set(room, resolve);
        ws.send(joinFrame(room, 'bench'));
      }),
    close: () => ws.terminate(),
  };
}

async function socketioClient(url: string, onText: (text: string) => void): Promise<Client> {
  const socket: Socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...TLS });
  socket.on('message', (message: { text: string }) => onText(message.text));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return {
    send: (room, text) => socket.emit('send', { room, text }),
    join: (room) => new Promise<void>((resolve) => socket.emit('join', room, () => resolve())),
    close: () => socket.disconnect(),
  };
}

const profileFlags = (dir: string | undefined) => (dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);

async function startPeer(id: string, redisUrl: string, profileDir?: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [...profileFlags(profileDir), '--import', 'tsx', PEER], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: id, REDIS_URL: redisUrl },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 200) throw new Error('benchmark peer did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      // A profiled process writes its profile when it exits on its own.
      child.kill(profileDir ? 'SIGTERM' : 'SIGKILL');
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

export interface SystemOptions {
  /** Clients connect through HAProxy (TLS) instead of to each instance. */
  balancer?: boolean;
  /** Run the instances under `node --cpu-prof`, writing their profiles here when stopped. */
  profileDir?: string;
  /** jwt: the service runs AUTH_MODE=jwt and every client connects with a token (Socket.IO ignores it). */
  auth?: 'none' | 'jwt';
}

export async function startSystem(name: SystemName, options: SystemOptions = {}): Promise<Running> {
  const auth = options.auth === 'jwt' ? localAuth() : undefined;
  const env = auth ? { ...BENCH_ENV, ...localAuthEnv(auth) } : BENCH_ENV;
  const token = await toolToken(auth);
  const connectService = (url: string, onText: (text: string) => void) => serviceClient(url, onText, token);
  if (name === 'ceiling') {
    // One process broadcasting locally: the in-process bus, no Redis.
    const only = await startInstance({ instanceId: 'ceiling', env, nodeArgs: profileFlags(options.profileDir) });
    return {
      name,
      urls: [only.url],
      pids: [only.pid],
      instancePids: [only.pid],
      balancerPids: [],
      connect: connectService,
      stop: async () => void (await only.stop(options.profileDir ? 'SIGTERM' : 'SIGKILL')),
    };
  }
  const redis: RedisServer = await startRedis();
  const servers =
    name === 'service'
      ? (
          await Promise.all(
            ['a', 'b'].map((id) => startInstance({ instanceId: id, redisUrl: redis.url, env, nodeArgs: profileFlags(options.profileDir) })),
          )
        ).map((i: Instance) => ({
          url: i.url,
          pid: i.pid,
          stop: async () => void (await i.stop(options.profileDir ? 'SIGTERM' : 'SIGKILL')),
        }))
      : await Promise.all(['a', 'b'].map((id) => startPeer(id, redis.url, options.profileDir)));
  const balancer = options.balancer ? await startBalancer(servers.map((s) => Number(new URL(s.url).port))) : undefined;
  return {
    name,
    urls: balancer ? [balancer.url] : servers.map((s) => s.url),
    pids: [...servers.map((s) => s.pid), redis.pid],
    instancePids: servers.map((s) => s.pid),
    balancerPids: balancer ? [balancer.pid] : [],
    connect: name === 'service' ? connectService : socketioClient,
    stop: async () => {
      await balancer?.stop();
      await Promise.all(servers.map((s) => s.stop()));
      await redis.stop();
    },
  };
}
