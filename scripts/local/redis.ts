// A real redis-server on loopback, in a temp dir of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { eachLine, exitOf, track } from './children.js';
import { freePort } from './ports.js';

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  /** Starts it again on the same port and dir (with persistence, the data survives). */
  restart(): Promise<void>;
}

export interface RedisOptions {
  port?: number;
  /** Append-only file on, so a restart keeps the streams. Default off. */
  persistence?: boolean;
  dir?: string;
  onLog?: (line: string) => void;
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(String(data).startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'chat-redis-'));
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', options.persistence ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    '--daemonize', 'no',
  ];
  let child: ChildProcess;

  const launch = async () => {
    child = track(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
    eachLine(child.stdout, (line) => options.onLog?.(line));
    eachLine(child.stderr, (line) => options.onLog?.(line));
    const failed = new Promise<never>((_, reject) =>
      child.once('error', (error) => reject(new Error(`redis-server could not start: ${error.message} (is it installed? npm run bootstrap)`))),
    );
    const started = Date.now();
    const ready = (async () => {
      while (!(await ping(port))) {
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (port ${port})`);
        if (Date.now() - started > 10_000) throw new Error(`redis-server did not answer on port ${port} within 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    await Promise.race([ready, failed]);
  };

  const stopChild = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = exitOf(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return child.pid!;
    },
    async stop() {
      await stopChild();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      child.kill(signal);
    },
    async restart() {
      await stopChild();
      await launch();
    },
  };
}
