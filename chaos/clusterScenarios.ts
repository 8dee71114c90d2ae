// Faults of a sharded Redis (REDIS_MODE=cluster): HAProxy + 3 instances in
// front of a Redis Cluster of 3 primaries with a replica each. Traffic runs
// in a busy room on the shard that takes the fault and in one room on each of
// the other two; the verdict is the same XRANGE judgement as every other
// scenario (traffic.ts). Each returns figures; run.ts and the tests judge.
import { startCluster, type Cluster } from '../scripts/local/cluster.js';
import type { RedisCluster } from '../scripts/local/redisCluster.js';
import { failover, killPrimary, primaries, reshard, restartNode, roomInSlot, roomSlot, roomsOnEachShard } from '../test/helpers/redisCluster.js';
import { Traffic, percentile } from './traffic.js';
import type { Figures } from './scenarios.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export type ShardFault = 'failover' | 'kill-primary' | 'reshard';

/** The fault, done to the shard serving `slot`; resolves when the cluster is healthy again. */
const FAULTS: Record<ShardFault, (redis: RedisCluster, slot: number) => Promise<unknown>> = {
  failover: (redis, slot) => failover(redis, slot),
  'kill-primary': (redis, slot) => killPrimary(redis, slot),
  reshard: async (redis, slot) => {
    const shards = await primaries(redis);
    const owner = await redis.primaryOf(slot);
    return reshard(redis, slot, shards.find((shard) => shard.id !== owner.id)!);
  },
};

export async function withShardedCluster<T>(run: (cluster: Cluster, redis: RedisCluster) => Promise<T>): Promise<T> {
  const cluster = await startCluster({ instances: 3, redisShards: 3, redisReplicas: 1, env: { DRAIN_SECONDS: '3', HISTORY_LIMIT: '100000' } });
  try {
    return await run(cluster, cluster.redisCluster!);
  } finally {
    await cluster.stop();
  }
}

/**
 * One fault under traffic. The busy room sits in the lowest slot of the first
 * shard, the slot `redis-cli --cluster reshard --cluster-slots 1` moves.
 */
export async function shardFault(fault: ShardFault): Promise<Figures> {
  return withShardedCluster(async (cluster, redis) => {
    const label = `${fault}-${Date.now()}`;
    const shards = await primaries(redis);
    const busy = await roomInSlot(redis, shards[0].slots[0][0], `busy-${label}`);
    const others = (await roomsOnEachShard(redis, 1, `calm-${label}`)).slice(1).flat();
    const load = new Traffic({ wsUrl: cluster.wsUrl, rooms: 3, clientsPerRoom: 6, ratePerClient: 5, label, roomNames: [busy, ...others] });
    try {
      return await faultUnder(load, fault, redis, busy);
    } finally {
      load.close(); // also when the fault fails half-way: its clients would reconnect for ever
    }
  });
}

/** Starts the traffic, does the fault to the busy room's shard, and measures. */
async function faultUnder(load: Traffic, fault: ShardFault, redis: RedisCluster, busy: string): Promise<Figures> {
  await load.start();
  await sleep(2000);
  const slot = await roomSlot(redis, busy);
  const primaryBefore = (await redis.primaryOf(slot)).port;
  const faultAt = Date.now();
  await FAULTS[fault](redis, slot);
  const healthyMs = Date.now() - faultAt;
  const primaryAfter = (await redis.primaryOf(slot)).port;
  await sleep(3000);
  const busyClients = load.clients.filter((client) => client.room === busy);
  const busyDeliveries = busyClients.flatMap((client) => client.deliveries.map((delivery) => delivery.at)).filter((at) => at >= faultAt);
  const figures = {
    busyRoom: busy,
    slot,
    primaryBefore,
    primaryAfter,
    /** From the fault until every node reports the cluster healthy again. */
    healthyMs,
    /** The longest time after the fault in which no member of the busy room received anything. */
    busyRoomSilenceMs: silence(busyDeliveries, faultAt, faultAt + healthyMs + 3000),
    /** The same for the rooms on the other two shards, over the fault. */
    otherRoomsSilenceMs: silence(
      load.clients.filter((client) => client.room !== busy).flatMap((client) => client.deliveries.map((delivery) => delivery.at)),
      faultAt,
      faultAt + healthyMs,
    ),
    p99BaselineMs: Math.round(percentile(load.latencies(faultAt - 2000, faultAt), 99)),
    p99DuringMs: Math.round(percentile(load.latencies(faultAt, faultAt + healthyMs + 2000), 99)),
  };
  const verdict = await load.finish(redis.url, 3000, 'cluster');
  if (fault === 'kill-primary') await restartNode(redis, primaryBefore);
  return { scenario: `cluster-${fault}`, verdict, ...figures };
}

/** The longest gap between consecutive times in [from, to). */
function silence(times: number[], from: number, to: number): number {
  const inside = times.filter((at) => at >= from && at < to).sort((a, b) => a - b);
  const edges = [from, ...inside, to];
  return Math.max(...edges.slice(1).map((at, i) => at - edges[i]));
}
