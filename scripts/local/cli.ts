// `npm run local`: the local cluster in the foreground with every process's
// logs merged and prefixed; Ctrl-C drains and stops everything.
// `npm run local -- --detach` starts it in the background and returns once it
// is ready; `npm run local:stop` stops it. State lives in .local/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster, type Cluster } from './cluster.js';
import { assertPortFree } from './ports.js';
import { clusterPorts, MAX_REPLICAS, MAX_SHARDS } from './redisCluster.js';
import { isAlive as alive } from './children.js';
import { randomBytes } from 'node:crypto';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// CHAT_LOCAL_STATE_DIR lets tests run a cluster beside one a developer already has.
const STATE_DIR = process.env.CHAT_LOCAL_STATE_DIR ?? join(ROOT, '.local');
const STATE_FILE = join(STATE_DIR, 'cluster.json');
const LOG_FILE = join(STATE_DIR, 'cluster.log');

const USAGE = `usage: npm run local -- [--instances N] [--https-port P] [--http-port P] [--base-port P] [--redis-port P] [--redis-shards N [--redis-replicas R]] [--drain-seconds S]
                        [--auth none|jwt] [--publish-api] [--detach]
       npm run local:stop`;

interface State {
  pid: number;
  url: string;
  httpUrl: string;
  ports: { https: number; http: number; redis: number; instances: Record<string, number> };
  /** With --redis-shards: each node's port and role, and the seed list the instances got. */
  redisCluster?: { url: string; nodes: Array<{ port: number; role: string; slots: string }> };
  auth: 'none' | 'jwt';
  /** With --publish-api: the key of POST /api/rooms/{room}/messages. */
  publishApiKey?: string;
}

function portFlag(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) fail(`${flag} must be a port from 1 to 65535 (got ${JSON.stringify(value)})`);
  return port;
}

function fail(message: string): never {
  process.stderr.write(`local: ${message}\n`);
  process.exit(1);
}

function readState(): State | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as State;
}

function describe(state: State): string {
  const instances = Object.entries(state.ports.instances).map(([id, port]) => `  ${id}: http://127.0.0.1:${port}`);
  return [
    `chat is up at ${state.url}  (self-signed certificate; WebSocket: ${state.url.replace('https', 'wss')}/ws)`,
    `  http → https redirect: ${state.httpUrl}`,
    ...(state.redisCluster
      ? [
          `  redis cluster (REDIS_MODE=cluster, REDIS_URL=${state.redisCluster.url}):`,
          ...state.redisCluster.nodes.map((node) => `    redis://127.0.0.1:${node.port}  ${node.role}${node.slots ? ` slots ${node.slots}` : ''}`),
        ]
      : [`  redis: redis://127.0.0.1:${state.ports.redis}`]),
    ...instances,
    state.auth === 'jwt'
      ? `  auth: jwt (the page gets a development token per tab from ${state.url}/dev/token)`
      : '  auth: none (names are free text; --auth jwt for tokens)',
    ...(state.publishApiKey
      ? [`  publish API: curl -k -X POST ${state.url}/api/rooms/lobby/messages -H 'authorization: Bearer ${state.publishApiKey}' -d '{"name":"bot","text":"hi"}'`]
      : []),
  ].join('\n');
}

async function stop(): Promise<void> {
  const state = readState();
  if (!state || !alive(state.pid)) {
    if (state) rmSync(STATE_FILE, { force: true });
    console.log('local: no cluster is running');
    return;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (alive(state.pid)) {
    if (Date.now() > deadline) fail(`cluster process ${state.pid} did not stop within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log('local: cluster stopped');
}

/** The flags, or one line naming what is wrong (parseArgs throws on an unknown flag or a missing value). */
function parseFlags() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        instances: { type: 'string' },
        'https-port': { type: 'string' },
        'http-port': { type: 'string' },
        'base-port': { type: 'string' },
        'redis-port': { type: 'string' },
        'redis-shards': { type: 'string' },
        'redis-replicas': { type: 'string' },
        'drain-seconds': { type: 'string' },
        auth: { type: 'string' },
        'publish-api': { type: 'boolean' },
        detach: { type: 'boolean' },
        // Internal: the background process started by --detach.
        'detached-child': { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseFlags();
  if (values.help) return void console.log(USAGE);
  if (positionals[0] === 'stop') return stop();
  if (positionals.length > 0) fail(`unknown command ${positionals[0]}\n${USAGE}`);

  const instances = values.instances === undefined ? 3 : Number(values.instances);
  if (!Number.isInteger(instances) || instances < 1 || instances > 64) fail(`--instances must be an integer from 1 to 64 (got ${values.instances})`);
  const shards = values['redis-shards'] === undefined ? undefined : Number(values['redis-shards']);
  if (shards !== undefined && (!/^\d+$/.test(values['redis-shards']!) || shards < 1 || shards > MAX_SHARDS)) {
    fail(`--redis-shards must be an integer from 1 to ${MAX_SHARDS} (got ${values['redis-shards']})`);
  }
  const replicas = values['redis-replicas'] === undefined ? 0 : Number(values['redis-replicas']);
  if (values['redis-replicas'] !== undefined && shards === undefined) fail('--redis-replicas needs --redis-shards (replicas of the cluster\'s primaries)');
  if (!/^\d+$/.test(values['redis-replicas'] ?? '0') || replicas > MAX_REPLICAS) fail(`--redis-replicas must be an integer from 0 to ${MAX_REPLICAS} (got ${values['redis-replicas']})`);
  const drain = values['drain-seconds'] ?? '2';
  if (!/^\d+$/.test(drain)) fail(`--drain-seconds must be a whole number (got ${drain})`);
  const auth = values.auth ?? 'none';
  if (auth !== 'none' && auth !== 'jwt') fail(`--auth must be none or jwt (got ${JSON.stringify(auth)})`);
  const ports = {
    https: portFlag(values['https-port'], '--https-port', 8443),
    http: portFlag(values['http-port'], '--http-port', 8000),
    base: portFlag(values['base-port'], '--base-port', 9001),
    redis: portFlag(values['redis-port'], '--redis-port', 6390),
  };

  const running = readState();
  if (running && alive(running.pid) && !values['detached-child']) {
    fail(`a cluster is already running (pid ${running.pid}); stop it with: npm run local:stop`);
  }
  mkdirSync(STATE_DIR, { recursive: true });

  if (values.detach) {
    // Check ports here too, so the error reaches the terminal rather than the log file.
    const redisPorts: Array<[number, string]> = shards === undefined ? [[ports.redis, '--redis-port']] : clusterPorts(ports.redis, shards, replicas);
    for (const [port, flag] of [[ports.https, '--https-port'], [ports.http, '--http-port'], ...redisPorts] as const) {
      await assertPortFree(port, flag).catch((error: Error) => fail(error.message));
    }
    rmSync(STATE_FILE, { force: true });
    const args = [...process.argv.slice(2).filter((arg) => arg !== '--detach'), '--detached-child'];
    const log = openSync(LOG_FILE, 'w');
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    const deadline = Date.now() + 90_000;
    for (;;) {
      const state = readState();
      if (state && state.pid === child.pid) break;
      if (!alive(child.pid!)) fail(`the cluster did not start; see ${LOG_FILE}:\n${readFileSync(LOG_FILE, 'utf8').split('\n').slice(-15).join('\n')}`);
      if (Date.now() > deadline) fail(`the cluster was not ready within 90 s; see ${LOG_FILE}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(describe(readState()!));
    console.log(`logs: ${LOG_FILE}\nstop: npm run local:stop`);
    return;
  }

  const width = Math.max('haproxy'.length, `local-${instances}`.length, shards === undefined ? 0 : `redis-${ports.redis}`.length);
  const prefix = (source: string, line: string) => process.stdout.write(`${`[${source}]`.padEnd(width + 2)} ${line}\n`);
  let cluster: Cluster;
  const publishApiKey = values['publish-api'] ? randomBytes(32).toString('base64url') : undefined;
  try {
    cluster = await startCluster({
      instances,
      httpsPort: ports.https,
      httpPort: ports.http,
      basePort: ports.base,
      redisPort: ports.redis,
      redisShards: shards,
      redisReplicas: shards === undefined ? undefined : replicas,
      stateDir: STATE_DIR,
      env: { DRAIN_SECONDS: drain, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
      auth,
      publishApiKey,
      exposePublishApi: publishApiKey !== undefined,
      onLog: prefix,
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const state: State = {
    pid: process.pid,
    url: cluster.url,
    httpUrl: cluster.httpUrl,
    ports: {
      https: cluster.httpsPort,
      http: cluster.httpPort,
      redis: cluster.redis?.port ?? cluster.redisCluster!.ports[0],
      instances: Object.fromEntries(cluster.instances.map((instance) => [instance.id, instance.port])),
    },
    auth,
    ...(publishApiKey ? { publishApiKey } : {}),
  };
  if (cluster.redisCluster) {
    const nodes = await cluster.redisCluster.topology();
    state.redisCluster = {
      url: cluster.redisCluster.url,
      nodes: [...nodes]
        .sort((a, b) => a.port - b.port)
        .map((node) => ({ port: node.port, role: node.role, slots: node.slots.map(([first, last]) => `${first}-${last}`).join(',') })),
    };
  }
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  console.log(`\n${describe(state)}\nCtrl-C drains the instances and stops everything.\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nlocal: ${signal}: draining ${cluster.instances.length} instances (${drain} s), then stopping HAProxy and Redis`);
    await cluster.stop();
    rmSync(STATE_FILE, { force: true });
    console.log('local: stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

await main();
