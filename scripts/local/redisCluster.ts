// A real Redis Cluster on loopback: shards × (1 + replicas) redis-server
// processes, cluster-enabled, node i of n on basePort + i and its cluster bus
// on basePort + n + i, joined with
// `redis-cli --cluster create` (which needs at least 3 primaries; 1 or 2
// shards are joined with CLUSTER ADDSLOTSRANGE, MEET and REPLICATE instead).
// It plays ElastiCache in cluster mode for `npm run local -- --redis-shards N`
// and for the tests that fail over, kill and reshard it.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eachLine, exitOf, track } from './children.js';
import { assertPortFree, freePortBlock } from './ports.js';
import { startRedis, type RedisServer } from './redis.js';

export const SLOTS = 16_384;
/** Most primaries and replicas per primary `npm run local` accepts. */
export const MAX_SHARDS = 16;
export const MAX_REPLICAS = 3;
/**
 * How long a node may be unreachable before its replica takes over. Short, so
 * a kill -9 fails over in seconds; not so short that a loaded 2-core machine
 * fails nodes over that are only slow.
 */
const NODE_TIMEOUT_MS = 3000;
const HEALTHY_TIMEOUT_MS = 60_000;

export interface RedisClusterOptions {
  shards: number;
  /** Replicas of each primary. Default 0. */
  replicas?: number;
  /** Node i of n listens on basePort + i, its cluster bus on basePort + n + i; picked free when left out. */
  basePort?: number;
  /** The flag that chose basePort, for the message when a port is taken. */
  basePortFlag?: string;
  /** Each node's data dir is dir/node-<port>; a temp dir when left out. */
  dir?: string;
  nodeTimeoutMs?: number;
  onLog?: (node: string, line: string) => void;
}

export interface ClusterNode {
  id: string;
  port: number;
  role: 'primary' | 'replica';
  /** The primary a replica follows. */
  primaryId: string | undefined;
  /** [first, last] slot ranges this primary serves. */
  slots: Array<[number, number]>;
  /** Seen as failed (fail or pfail) by the node asked. */
  failed: boolean;
}

export interface RedisCluster {
  /** Every node's redis://127.0.0.1:port, comma-separated: the seed list for REDIS_URL. */
  url: string;
  ports: number[];
  servers: RedisServer[];
  /** The server listening on port. */
  server(port: number): RedisServer;
  /** One command sent to one node. */
  command(port: number, ...args: Array<string | number>): Promise<unknown>;
  /** The cluster as a live node sees it (CLUSTER NODES). */
  topology(): Promise<ClusterNode[]>;
  /** The live primary serving slot. */
  primaryOf(slot: number): Promise<ClusterNode>;
  /** Waits until every live node reports cluster_state:ok, all agree on who serves which slot, and every replica is in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Every port a cluster from basePort takes, with the flag that chose it (for a refusal that names it). */
export function clusterPorts(basePort: number, shards: number, replicas: number, flag = '--redis-port'): Array<[number, string]> {
  const count = shards * (1 + replicas);
  return Array.from({ length: 2 * count }, (_, i) => [basePort + i, `${flag}${i === 0 ? '' : ` + ${i}`}${i >= count ? ', a cluster bus' : ''}`]);
}

async function onNode<T>(port: number, run: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, commandTimeout: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await run(client);
  } finally {
    client.disconnect();
  }
}

export function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, address, flags, primary, , , , , ...slotFields] = line.split(' ');
      const flagList = flags.split(',');
      const slots = slotFields
        .filter((field) => !field.startsWith('['))
        .map((field): [number, number] => {
          const [first, last] = field.split('-').map(Number);
          return [first, last ?? first];
        });
      return {
        id,
        port: Number(address.split('@')[0].split(':').pop()),
        role: flagList.includes('master') ? 'primary' : 'replica',
        primaryId: primary === '-' ? undefined : primary,
        slots,
        failed: flagList.includes('fail') || flagList.includes('fail?'),
      };
    });
}

function redisCli(args: string[], onLog: (line: string) => void): Promise<void> {
  const child = track(spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
  const output: string[] = [];
  const log = (colored: string) => {
    const line = colored.replace(/\x1b\[[0-9;]*m/g, '');
    output.push(line);
    onLog(line);
  };
  eachLine(child.stdout, log);
  eachLine(child.stderr, log);
  return exitOf(child).then((code) => {
    if (code !== 0) throw new Error(`redis-cli ${args.slice(0, 2).join(' ')} failed (${code}):\n${output.slice(-10).join('\n')}`);
  });
}

/** `redis-cli --cluster <args>`, for create and reshard. */
export function redisCliCluster(args: string[], onLog: (line: string) => void = () => undefined): Promise<void> {
  return redisCli(['--cluster', ...args], onLog);
}

/** The slot ranges of primary i of n, split as evenly as redis-cli splits them. */
function slotRange(index: number, count: number): [number, number] {
  const per = SLOTS / count;
  return [Math.round(index * per), Math.round((index + 1) * per) - 1];
}

export async function startRedisCluster(options: RedisClusterOptions): Promise<RedisCluster> {
  const { shards } = options;
  const replicas = options.replicas ?? 0;
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new Error(`--redis-shards must be an integer from 1 to ${MAX_SHARDS} (got ${shards})`);
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) throw new Error(`--redis-replicas must be an integer from 0 to ${MAX_REPLICAS} (got ${replicas})`);
  const count = shards * (1 + replicas);
  if (options.basePort !== undefined) {
    for (const [port, flag] of clusterPorts(options.basePort, shards, replicas, options.basePortFlag)) await assertPortFree(port, flag);
  }
  const base = options.basePort ?? (await freePortBlock(2 * count));
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'chat-redis-cluster-'));
  const ports = Array.from({ length: count }, (_, i) => base + i);
  const log = options.onLog ?? (() => undefined);
  const servers: RedisServer[] = [];

  const stop = async () => {
    await Promise.allSettled(servers.map((server) => server.stop()));
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  const command = (port: number, ...args: Array<string | number>) => onNode(port, (client) => client.call(String(args[0]), ...args.slice(1)));

  const liveServers = () => servers.filter((server) => server.alive);

  const topology = async (): Promise<ClusterNode[]> => {
    let lastError: unknown;
    for (const server of liveServers()) {
      try {
        return parseClusterNodes(String(await command(server.port, 'CLUSTER', 'NODES')));
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no node of the cluster answers: ${(lastError as Error | undefined)?.message}`);
  };

  const waitHealthy = async (timeoutMs = HEALTHY_TIMEOUT_MS) => {
    const deadline = Date.now() + timeoutMs;
    let why = '';
    for (;;) {
      why = await unhealthy(liveServers().map((server) => server.port), command);
      if (why === '') return;
      if (Date.now() > deadline) throw new Error(`the Redis cluster is not healthy after ${timeoutMs} ms: ${why}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  try {
    for (const [i, port] of ports.entries()) {
      const nodeDir = join(dir, `node-${port}`);
      // A fresh cluster every start: a nodes.conf left by an earlier one would make redis-cli refuse the node.
      rmSync(nodeDir, { recursive: true, force: true });
      mkdirSync(nodeDir, { recursive: true });
      servers.push(
        await startRedis({
          port,
          dir: nodeDir,
          cluster: { nodeTimeoutMs: options.nodeTimeoutMs ?? NODE_TIMEOUT_MS, busPort: base + count + i },
          onLog: (line) => log(`redis-${port}`, line),
        }),
      );
    }
    const cliLog = (line: string) => log('redis-cli', line);
    if (shards >= 3) {
      await redisCliCluster(['create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], cliLog);
    } else {
      // redis-cli refuses fewer than 3 primaries; this is what it would do.
      const ids = await Promise.all(ports.map((port) => command(port, 'CLUSTER', 'MYID').then(String)));
      for (let i = 0; i < shards; i++) await command(ports[i], 'CLUSTER', 'ADDSLOTSRANGE', ...slotRange(i, shards));
      for (const port of ports.slice(1)) await command(port, 'CLUSTER', 'MEET', '127.0.0.1', ports[0], base + count);
      for (let i = shards; i < count; i++) {
        const primary = ids[(i - shards) % shards];
        // A node can only follow a primary it already knows of.
        await waitUntil(async () => String(await command(ports[i], 'CLUSTER', 'NODES')).includes(primary), 20_000);
        await command(ports[i], 'CLUSTER', 'REPLICATE', primary);
      }
    }
    await waitHealthy();
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url: ports.map((port) => `redis://127.0.0.1:${port}`).join(','),
    ports,
    servers,
    server(port: number) {
      const found = servers.find((server) => server.port === port);
      if (!found) throw new Error(`no node of the cluster listens on ${port}`);
      return found;
    },
    command,
    topology,
    async primaryOf(slot: number) {
      const nodes = await topology();
      const owner = nodes.find((node) => node.role === 'primary' && !node.failed && node.slots.some(([first, last]) => slot >= first && slot <= last));
      if (!owner) throw new Error(`no live primary serves slot ${slot}`);
      return owner;
    },
    waitHealthy,
    stop,
  };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Why the cluster is not healthy, seen from the given live nodes; empty when it is. */
async function unhealthy(ports: number[], command: RedisCluster['command']): Promise<string> {
  let shared: string | undefined;
  for (const port of ports) {
    let info: string;
    let nodes: ClusterNode[];
    try {
      info = String(await command(port, 'CLUSTER', 'INFO'));
      nodes = parseClusterNodes(String(await command(port, 'CLUSTER', 'NODES')));
    } catch (error) {
      return `node ${port} does not answer: ${(error as Error).message}`;
    }
    if (!info.includes('cluster_state:ok')) return `node ${port} reports ${/cluster_state:\w+/.exec(info)?.[0]}`;
    const covered = nodes.filter((node) => node.role === 'primary' && !node.failed).reduce((sum, node) => sum + node.slots.reduce((n, [a, b]) => n + b - a + 1, 0), 0);
    if (covered !== SLOTS) return `node ${port} sees ${covered} of ${SLOTS} slots on live primaries`;
    const map = nodes
      .filter((node) => node.role === 'primary' && node.slots.length > 0)
      .map((node) => `${node.id}:${JSON.stringify(node.slots)}`)
      .sort()
      .join(' ');
    if (shared !== undefined && map !== shared) return `nodes disagree on the slot map (node ${port})`;
    shared = map;
    const me = nodes.find((node) => node.port === port);
    if (me?.role === 'replica') {
      const replication = String(await command(port, 'INFO', 'replication'));
      if (!replication.includes('master_link_status:up')) return `replica ${port} is not in sync with its primary`;
    }
  }
  return '';
}
