// One service instance: `node service/dist/server.js` as a child process,
// configured the way production configures it, through the environment.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eachLine, exitOf, track } from './children.js';
import { freePort } from './ports.js';

export const SERVER_ENTRY = fileURLToPath(new URL('../../service/dist/server.js', import.meta.url));

export interface Instance {
  id: string;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  pid: number;
  logs: string[];
  /** Polls /readyz until it answers 200. */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends the signal (SIGTERM: drain) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** kill -9 */
  kill(): void;
  exited: Promise<number | null>;
}

export interface InstanceOptions {
  instanceId: string;
  port?: number;
  redisUrl?: string;
  env?: Record<string, string>;
  /** Wait until /readyz answers 200 before resolving. Default true. */
  waitReady?: boolean;
  /** Extra node flags, e.g. ['--cpu-prof'] (NODE_OPTIONS does not allow that one). */
  nodeArgs?: string[];
  onLog?: (line: string) => void;
}

const MAX_LOG_LINES = 2000;

export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const port = options.port ?? (await freePort());
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    INSTANCE_ID: options.instanceId,
    LOG_LEVEL: 'info',
    ...options.env,
  };
  if (options.redisUrl !== undefined) env.REDIS_URL = options.redisUrl;
  else if (!options.env?.REDIS_URL) delete env.REDIS_URL;
  const child = track(spawn(process.execPath, [...(options.nodeArgs ?? []), SERVER_ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
  const logs: string[] = [];
  const log = (line: string) => {
    logs.push(line);
    if (logs.length > MAX_LOG_LINES) logs.shift();
    options.onLog?.(line);
  };
  eachLine(child.stdout, log);
  eachLine(child.stderr, log);
  const exited = exitOf(child);
  const url = `http://127.0.0.1:${port}`;

  const instance: Instance = {
    id: options.instanceId,
    port,
    url,
    pid: child.pid!,
    logs,
    exited,
    async ready(timeoutMs = 15_000) {
      const started = Date.now();
      for (;;) {
        if (child.exitCode !== null) {
          throw new Error(`instance ${options.instanceId} exited with ${child.exitCode}: ${logs.slice(-5).join('\n')}`);
        }
        try {
          const response = await fetch(`${url}/readyz`);
          if (response.status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() - started > timeoutMs) {
          throw new Error(`instance ${options.instanceId} not ready within ${timeoutMs} ms: ${logs.slice(-5).join('\n')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        if (signal === 'SIGKILL') instance.kill();
        else child.kill(signal); // the primary forwards it to its workers
      }
      const timer = setTimeout(() => instance.kill(), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill() {
      // The whole group: with WORKERS > 1 the workers go too, as on a real kill of the machine.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    },
  };
  if (options.waitReady ?? true) await instance.ready();
  return instance;
}
