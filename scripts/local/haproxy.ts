// HAProxy in front of the instances, as the ALB is in AWS: TLS termination,
// HTTP to HTTPS redirect, round robin, health checks on /readyz, and timeouts
// sized for long-lived WebSockets.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { AUTH_PATHS, PATHS, PING_INTERVAL_MS } from '../../service/src/defaults.js';
import { eachLine, exitOf, track } from './children.js';

export interface Backend {
  name: string;
  port: number;
}

export interface HaproxyConfigOptions {
  httpsPort: number;
  httpPort: number;
  certPath: string;
  backends: Backend[];
  /** Admin socket, for `show stat` and the like. */
  statsSocket: string;
  /** Health check interval; an instance is out after two failed checks. */
  checkIntervalMs?: number;
  /** Concurrent connections; each takes two file descriptors (client and server side). */
  maxConnections?: number;
  /** Pass the publish API (/api/) through; refused with 404 at the proxy otherwise, as on the ALB. */
  exposePublishApi?: boolean;
}

/** The configuration file, as text. Pure, so it is tested without HAProxy. */
export function haproxyConfig(options: HaproxyConfigOptions): string {
  const inter = options.checkIntervalMs ?? 1000;
  // Idle timeouts must outlast the service's ping interval, or HAProxy would cut quiet sockets.
  const idleSeconds = Math.ceil((PING_INTERVAL_MS * 2) / 1000) + 10;
  const lines = [
    'global',
    '  log stdout format raw local0 info',
    `  maxconn ${options.maxConnections ?? 10000}`,
    `  stats socket ${options.statsSocket} mode 600 level admin`,
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  option dontlognull',
    '  timeout connect 3s',
    `  timeout client ${idleSeconds}s`,
    `  timeout server ${idleSeconds}s`,
    // Once upgraded, a WebSocket is a tunnel; the service's pings keep it alive.
    '  timeout tunnel 1h',
    '  timeout client-fin 5s',
    // A request (or upgrade) whose headers trickle in is cut off: slowloris.
    '  timeout http-request 10s',
    '  timeout http-keep-alive 10s',
    '  option redispatch',
    '  retries 2',
    '',
    'frontend http_in',
    `  bind 127.0.0.1:${options.httpPort}`,
    `  http-request redirect location https://%[req.hdr(host),field(1,:)]:${options.httpsPort}%[capture.req.uri] code 301`,
    '',
    'frontend https_in',
    `  bind 127.0.0.1:${options.httpsPort} ssl crt ${options.certPath} alpn http/1.1`,
    '  http-request set-header X-Forwarded-Proto https',
    '  option forwardfor',
    ...(options.exposePublishApi ? [] : [`  http-request deny deny_status 404 if { path_beg ${AUTH_PATHS.api} }`]),
    '  default_backend chat',
    '',
    'backend chat',
    '  balance roundrobin',
    '  option httpchk',
    `  http-check send meth GET uri ${PATHS.ready}`,
    '  http-check expect status 200',
    `  default-server inter ${inter}ms fastinter ${Math.max(100, inter / 2)}ms downinter ${inter}ms fall 2 rise 1`,
    ...options.backends.map((backend) => `  server ${backend.name} 127.0.0.1:${backend.port} check`),
    '',
  ];
  return lines.join('\n');
}

export interface Haproxy {
  pid: number;
  configPath: string;
  statsSocket: string;
  stop(): Promise<void>;
  exited: Promise<number | null>;
  /** Server name → status (UP, DOWN, ...) from the admin socket. */
  serverStatus(): Promise<Record<string, string>>;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function adminCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (out += chunk));
    socket.once('end', () => resolve(out));
    socket.once('error', reject);
    socket.write(`${command}\n`);
  });
}

async function adminAnswers(socketPath: string): Promise<boolean> {
  return adminCommand(socketPath, 'show info').then((out) => out.includes('Pid:'), () => false);
}

/** As many connections as this machine's hard file-descriptor limit allows, up to 50,000. */
function fittingMaxConnections(): number {
  const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  const limit = hard === 'unlimited' ? 1_000_000 : Number(hard);
  return Math.max(256, Math.min(50_000, Math.floor((limit - 200) / 2)));
}

export async function startHaproxy(options: HaproxyConfigOptions & { stateDir: string; onLog?: (line: string) => void }): Promise<Haproxy> {
  const configPath = join(options.stateDir, 'haproxy.cfg');
  writeFileSync(configPath, haproxyConfig({ maxConnections: fittingMaxConnections(), ...options }));
  const check = spawn('haproxy', ['-c', '-q', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let checkOutput = '';
  check.stdout?.on('data', (d) => (checkOutput += d));
  check.stderr?.on('data', (d) => (checkOutput += d));
  const checkCode = await new Promise<number | null>((resolve, reject) => {
    check.once('error', (error) => reject(new Error(`haproxy could not start: ${error.message} (is it installed? npm run bootstrap)`)));
    check.once('exit', resolve);
  });
  if (checkCode !== 0) throw new Error(`haproxy rejected its configuration:\n${checkOutput}`);

  const child: ChildProcess = track(spawn('haproxy', ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
  eachLine(child.stdout, (line) => options.onLog?.(line));
  eachLine(child.stderr, (line) => options.onLog?.(line));
  const exited = exitOf(child);
  const started = Date.now();
  // The admin socket is bound apart from the listeners (and renamed into place
  // after them): wait until both answer, so the first `show stat` finds it.
  while (!(await listening(options.httpsPort)) || !(await adminAnswers(options.statsSocket))) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}`);
    if (Date.now() - started > 10_000) throw new Error(`haproxy did not listen on ${options.httpsPort} and ${options.statsSocket} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    pid: child.pid!,
    configPath,
    statsSocket: options.statsSocket,
    exited,
    async stop() {
      // The instances have drained by now; a hard stop closes what is left.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
    async serverStatus() {
      const csv = await adminCommand(options.statsSocket, 'show stat');
      const [header, ...rows] = csv.trim().split('\n');
      const columns = header.replace(/^# /, '').split(',');
      const name = columns.indexOf('svname');
      const status = columns.indexOf('status');
      const proxy = columns.indexOf('pxname');
      const result: Record<string, string> = {};
      for (const row of rows) {
        const cells = row.split(',');
        if (cells[proxy] === 'chat' && cells[name] !== 'BACKEND') result[cells[name]] = cells[status];
      }
      return result;
    },
  };
}
