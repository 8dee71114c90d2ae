// Connections to a Redis Cluster (REDIS_MODE=cluster): the seed list in
// REDIS_URL, the ioredis Cluster that routes each command to the primary of
// its key's slot (following MOVED and ASK), and the plain connections to one
// node each that sharded subscriptions use.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export interface Seeds {
  nodes: Array<{ host: string; port: number }>;
  username: string | undefined;
  password: string | undefined;
  /** rediss:// : TLS to every node, as ElastiCache in-transit encryption requires. */
  tls: boolean;
}

/**
 * `redis://host:port` or `rediss://:token@host:port`, or several separated by
 * commas (a configuration endpoint is one). Credentials and TLS come from the
 * first; all seeds must agree on the scheme.
 */
export function parseSeeds(url: string): Seeds {
  const parsed = url.split(',').map((part) => new URL(part.trim()));
  const tls = parsed[0].protocol === 'rediss:';
  if (parsed.some((seed) => (seed.protocol === 'rediss:') !== tls)) throw new Error('REDIS_URL seeds mix redis:// and rediss://');
  return {
    nodes: parsed.map((seed) => ({ host: seed.hostname, port: Number(seed.port || 6379) })),
    username: parsed[0].username ? decodeURIComponent(parsed[0].username) : undefined,
    password: parsed[0].password ? decodeURIComponent(parsed[0].password) : undefined,
    tls,
  };
}

/** What a connection to one node of the cluster needs besides host and port. */
function nodeOptions(seeds: Seeds): RedisOptions {
  return {
    // Only what the URL gives: an IAM token set later on the options must not be overwritten.
    ...(seeds.username === undefined ? {} : { username: seeds.username }),
    ...(seeds.password === undefined ? {} : { password: seeds.password }),
    // ElastiCache's certificates name the node's DNS name, which is also what CLUSTER SLOTS reports.
    ...(seeds.tls ? { tls: {} } : {}),
  };
}

export function clusterClient(seeds: Seeds, redisOptions: RedisOptions, options: ClusterOptions = {}): Cluster {
  const { retryStrategy, enableOfflineQueue, ...perNode } = redisOptions;
  return new Cluster(seeds.nodes, {
    ...options,
    enableOfflineQueue: enableOfflineQueue ?? false,
    clusterRetryStrategy: retryStrategy ? (attempt) => retryStrategy(attempt) ?? null : undefined,
    redisOptions: { ...perNode, ...nodeOptions(seeds) },
    // With TLS, connect by the name the certificate carries rather than a resolved address.
    ...(seeds.tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
  });
}

/** A lazily connecting plain connection to one node ("host:port" as the slot map names it). */
export function nodeClient(seeds: Seeds, node: string, redisOptions: RedisOptions): Redis {
  const split = node.lastIndexOf(':');
  return new Redis({
    ...nodeOptions(seeds),
    // After the URL's credentials: with REDIS_AUTH=iam these carry the current token.
    ...redisOptions,
    ...(seeds.tls ? { tls: { servername: node.slice(0, split) } } : {}),
    host: node.slice(0, split),
    port: Number(node.slice(split + 1)),
    lazyConnect: true,
  });
}

/**
 * A script for cluster mode: its PUBLISH becomes SPUBLISH, so the message goes
 * only to the shard that owns the channel's slot (a classic PUBLISH in a
 * cluster is copied to every node). The channel carries the room's hash tag,
 * like the script's keys, so it is in their slot.
 */
export function sharded(lua: string): string {
  const rewritten = lua.replaceAll("redis.call('PUBLISH',", "redis.call('SPUBLISH',");
  if (rewritten === lua) throw new Error('script has no PUBLISH to shard');
  return rewritten;
}
