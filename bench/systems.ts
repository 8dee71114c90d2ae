// The systems under test, started the same way (2 instances + 1 Redis, or one
// process without Redis for the ceiling), and a client for each that the
// driver uses without knowing which it talks to.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { io as ioClient, type Socket } from 'socket.io-client';
import { startInstance, type Instance } from '../scripts/local/instance.js';
import { startRedis, type RedisServer } from '../scripts/local/redis.js';
import { freePort } from '../scripts/local/ports.js';
import { track, exitOf } from '../scripts/local/children.js';
import { joinFrame, sendFrame } from '../service/src/protocol/frames.js';

export type SystemName = 'service' | 'socketio' | 'ceiling';

export interface Client {
  send(room: string, text: string): void;
  join(room: string): Promise<void>;
  close(): void;
}

export interface Running {
  name: SystemName;
  urls: string[];
  /** Server-side processes whose CPU is counted: the instances and Redis. */
  pids: number[];
  instancePids: number[];
  connect(url: string, onText: (text: string) => void): Promise<Client>;
  stop(): Promise<void>;
}

const PEER = fileURLToPath(new URL('./peer/server.ts', import.meta.url));
const BENCH_ENV = { RATE_LIMIT: '100000', LOG_LEVEL: 'warn', DRAIN_SECONDS: '0', MAX_BUFFERED_BYTES: String(64 * 1024 * 1024) };

async function serviceClient(url: string, onText: (text: string) => void): Promise<Client> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { perMessageDeflate: false });
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
  const socket: Socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
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

async function startPeer(id: string, redisUrl: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', PEER], {
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
      child.kill('SIGKILL');
      await exitOf(child);
    },
  };
}

export async function startSystem(name: SystemName): Promise<Running> {
  if (name === 'ceiling') {
    // One process broadcasting locally: the in-process bus, no Redis.
    const only = await startInstance({ instanceId: 'ceiling', env: BENCH_ENV });
    return {
      name,
      urls: [only.url],
      pids: [only.pid],
      instancePids: [only.pid],
      connect: serviceClient,
      stop: async () => void (await only.stop('SIGKILL')),
    };
  }
  const redis: RedisServer = await startRedis();
  if (name === 'service') {
    const instances: Instance[] = await Promise.all(['a', 'b'].map((id) => startInstance({ instanceId: id, redisUrl: redis.url, env: BENCH_ENV })));
    return {
      name,
      urls: instances.map((i) => i.url),
      pids: [...instances.map((i) => i.pid), redis.pid],
      instancePids: instances.map((i) => i.pid),
      connect: serviceClient,
      stop: async () => {
        await Promise.all(instances.map((i) => i.stop('SIGKILL')));
        await redis.stop();
      },
    };
  }
  const peers = await Promise.all(['a', 'b'].map((id) => startPeer(id, redis.url)));
  return {
    name,
    urls: peers.map((p) => p.url),
    pids: [...peers.map((p) => p.pid), redis.pid],
    instancePids: peers.map((p) => p.pid),
    connect: socketioClient,
    stop: async () => {
      await Promise.all(peers.map((p) => p.stop()));
      await redis.stop();
    },
  };
}
