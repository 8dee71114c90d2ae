// The local cluster: redis-server (or a Redis Cluster of them), N service
// instances and HAProxy in front, the same shape as the AWS deployment. Used by `npm run local`, and by the
// tests, the k6 runs, the fault harness and the benchmark.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSelfSignedCert } from './cert.js';
import { startHaproxy, type Haproxy } from './haproxy.js';
import { startInstance, type Instance } from './instance.js';
import { assertPortFree, freePort } from './ports.js';
import { startRedis, type RedisServer } from './redis.js';
import { clusterPorts, startRedisCluster, type RedisCluster } from './redisCluster.js';
import { localAuth, localAuthEnv, toolToken, type AuthMode, type LocalAuth } from './auth.js';

export interface ClusterOptions {
  instances?: number;
  /** Fixed ports; each one left out is picked free. */
  httpsPort?: number;
  httpPort?: number;
  /** Instance i listens on basePort + i. */
  basePort?: number;
  /** The single redis-server's port, or with redisShards the first node's (node i on redisPort + i). */
  redisPort?: number;
  /** A Redis Cluster of this many primaries instead of one redis-server; the instances run with REDIS_MODE=cluster. */
  redisShards?: number;
  /** Replicas of each primary of the Redis Cluster. */
  redisReplicas?: number;
  /** Where the certificate, HAProxy config and Redis data go; a temp dir when left out. */
  stateDir?: string;
  /** Environment for every instance (DRAIN_SECONDS, RATE_LIMIT, ...). */
  env?: Record<string, string>;
  /** false: each instance runs without Redis, on its in-process bus (for negative tests). */
  sharedRedis?: boolean;
  redisPersistence?: boolean;
  checkIntervalMs?: number;
  /** jwt: every instance takes tokens signed with a secret made for this run (default none). */
  auth?: AuthMode;
  /** PUBLISH_API_KEY for every instance; the proxy passes /api/ through only with exposePublishApi. */
  publishApiKey?: string;
  exposePublishApi?: boolean;
  /** Every log line of every process, with the name of the process. */
  onLog?: (source: string, line: string) => void;
}

export interface Cluster {
  /** https://127.0.0.1:<httpsPort> */
  url: string;
  /** wss://127.0.0.1:<httpsPort>/ws */
  wsUrl: string;
  /** http://127.0.0.1:<httpPort> (redirects to https) */
  httpUrl: string;
  httpsPort: number;
  httpPort: number;
  instances: Instance[];
  /** The single redis-server; undefined with redisShards or without shared Redis. */
  redis: RedisServer | undefined;
  /** With redisShards: the Redis Cluster. */
  redisCluster: RedisCluster | undefined;
  /** What REDIS_URL the instances got (a comma-separated seed list in cluster mode). */
  redisUrl: string | undefined;
  haproxy: Haproxy;
  stateDir: string;
  /** With auth jwt: the secret, issuer and audience, to mint tokens (scripts/local/auth.ts). */
  auth: LocalAuth | undefined;
  /** With auth jwt: a day-long token of the tools user for every room (tokenUrl adds it to a URL). */
  toolToken: string | undefined;
  /**
   * Replaces instance i as a deploy does: SIGTERM (drain), wait for its exit,
   * start it again on the same port, wait until HAProxy sees it up.
   * After kill -9, call it to bring the instance back. Returns the exit code.
   */
  restartInstance(index: number): Promise<number | null>;
  /** Drains every instance (SIGTERM), then stops HAProxy and Redis. */
  stop(): Promise<void>;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.instances ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`--instances must be an integer from 1 to 64 (got ${count})`);
  const ownStateDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'chat-cluster-'));
  mkdirSync(stateDir, { recursive: true });
  const log = options.onLog ?? (() => undefined);

  // Refuse taken ports before starting anything, naming the flag that chose each.
  const fixed: Array<[number | undefined, string]> = [
    [options.httpsPort, '--https-port'],
    [options.httpPort, '--http-port'],
    ...(options.redisShards === undefined || options.redisPort === undefined
      ? [[options.redisPort, '--redis-port'] as [number | undefined, string]]
      : clusterPorts(options.redisPort, options.redisShards, options.redisReplicas ?? 0)),
    ...Array.from({ length: count }, (_, i): [number | undefined, string] => [
      options.basePort === undefined ? undefined : options.basePort + i,
      `--base-port + ${i}`,
    ]),
  ];
  for (const [port, flag] of fixed) if (port !== undefined) await assertPortFree(port, flag);

  const httpsPort = options.httpsPort ?? (await freePort());
  const httpPort = options.httpPort ?? (await freePort());
  const started: { redis?: RedisServer; redisCluster?: RedisCluster; instances: Instance[]; haproxy?: Haproxy } = { instances: [] };
  const stopAll = async () => {
    await Promise.allSettled(started.instances.map((instance) => instance.stop('SIGTERM')));
    await started.haproxy?.stop();
    await started.redis?.stop();
    await started.redisCluster?.stop();
    if (ownStateDir) rmSync(stateDir, { recursive: true, force: true });
  };

  const auth = options.auth === 'jwt' ? localAuth() : undefined;
  const identityEnv = {
    ...(auth ? localAuthEnv(auth) : {}),
    ...(options.publishApiKey ? { PUBLISH_API_KEY: options.publishApiKey } : {}),
  };
  const startOne = (index: number, port?: number) =>
    startInstance({
      instanceId: `local-${index + 1}`,
      port,
      redisUrl: started.redis?.url ?? started.redisCluster?.url,
      env: { DRAIN_SECONDS: '2', ...identityEnv, ...(started.redisCluster ? { REDIS_MODE: 'cluster' } : {}), ...options.env },
      onLog: (line) => log(`local-${index + 1}`, line),
    });

  try {
    const shared = options.sharedRedis ?? true;
    if (shared && options.redisShards !== undefined) {
      mkdirSync(join(stateDir, 'redis'), { recursive: true });
      started.redisCluster = await startRedisCluster({
        shards: options.redisShards,
        replicas: options.redisReplicas,
        basePort: options.redisPort,
        dir: join(stateDir, 'redis'),
        onLog: log,
      });
    } else if (shared) {
      mkdirSync(join(stateDir, 'redis'), { recursive: true });
      started.redis = await startRedis({
        port: options.redisPort,
        persistence: options.redisPersistence,
        dir: join(stateDir, 'redis'),
        onLog: (line) => log('redis', line),
      });
    }
    started.instances = await Promise.all(
      Array.from({ length: count }, (_, i) => startOne(i, options.basePort === undefined ? undefined : options.basePort + i)),
    );
    started.haproxy = await startHaproxy({
      httpsPort,
      httpPort,
      certPath: makeSelfSignedCert(stateDir),
      statsSocket: join(stateDir, 'haproxy.sock'),
      checkIntervalMs: options.checkIntervalMs,
      exposePublishApi: options.exposePublishApi,
      backends: started.instances.map((instance) => ({ name: instance.id, port: instance.port })),
      stateDir,
      onLog: (line) => log('haproxy', line),
    });
    await allUp(started.haproxy, started.instances);
  } catch (error) {
    await stopAll();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  const tools = await toolToken(auth);
  return {
    url: `https://127.0.0.1:${httpsPort}`,
    wsUrl: `wss://127.0.0.1:${httpsPort}/ws`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    httpsPort,
    httpPort,
    instances: started.instances,
    redis: started.redis,
    redisCluster: started.redisCluster,
    redisUrl: started.redis?.url ?? started.redisCluster?.url,
    haproxy: started.haproxy,
    stateDir,
    auth,
    toolToken: tools,
    async restartInstance(index: number) {
      const old = started.instances[index];
      const code = await old.stop('SIGTERM');
      const fresh = await startOne(index, old.port);
      started.instances[index] = fresh;
      await allUp(started.haproxy!, started.instances);
      return code;
    },
    stop: () => (stopping ??= stopAll()),
  };
}

/** Waits until HAProxy sees every instance up. */
async function allUp(haproxy: Haproxy, instances: Instance[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = await haproxy.serverStatus();
    if (instances.every((instance) => status[instance.id] === 'UP')) return;
    if (Date.now() > deadline) throw new Error(`HAProxy does not see every instance up: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
