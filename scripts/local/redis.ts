// A real redis-server on loopback, in a temp dir of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { makeSelfSignedCert } from './cert.js';
import { eachLine, exitOf, track } from './children.js';
import { freePort } from './ports.js';

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:port, or rediss://:password@127.0.0.1:port with tls and a password. */
  url: string;
  /** With tls: the self-signed certificate clients must trust (NODE_EXTRA_CA_CERTS). */
  caPath?: string;
  dir: string;
  pid: number;
  /** Not exited (kill() and stop() end it; restart() brings it back). */
  readonly alive: boolean;
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
  /** requirepass: clients must AUTH, as with ElastiCache's auth token. */
  password?: string;
  /** Serve TLS only (rediss://), with a self-signed certificate made in the data dir. */
  tls?: boolean;
  /** A Redis Cluster node (cluster-enabled, nodes.conf in the data dir); see redisCluster.ts. */
  cluster?: { nodeTimeoutMs: number; busPort: number };
  onLog?: (line: string) => void;
}

async function ping(port: number, tls: boolean, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls
      ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false })
      : createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    let answer = '';
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write(`${password ? `AUTH ${password}\r\n` : ''}PING\r\n`));
    socket.on('data', (data) => {
      answer += String(data);
      if (!answer.includes('\r\n', password ? answer.indexOf('\r\n') + 2 : 0)) return;
      socket.destroy();
      resolve(answer.includes('+PONG'));
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
  const caPath = options.tls ? join(dir, 'tls.crt') : undefined;
  if (options.tls) makeSelfSignedCert(dir);
  const args = [
    ...(options.tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', caPath!, '--tls-key-file', join(dir, 'tls.key'), '--tls-auth-clients', 'no']
      : ['--port', String(port)]),
    ...(options.password ? ['--requirepass', options.password] : []),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', options.persistence ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    '--daemonize', 'no',
    ...(options.cluster
      ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', String(options.cluster.nodeTimeoutMs), '--cluster-port', String(options.cluster.busPort), '--cluster-announce-ip', '127.0.0.1', '--cluster-require-full-coverage', 'no']
      : []),
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
      while (!(await ping(port, options.tls ?? false, options.password))) {
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
    url: `${options.tls ? 'rediss' : 'redis'}://${options.password ? `:${options.password}@` : ''}127.0.0.1:${port}`,
    caPath,
    dir,
    get pid() {
      return child.pid!;
    },
    get alive() {
      return child.exitCode === null && child.signalCode === null;
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
