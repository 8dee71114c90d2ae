// Faults of a real local Redis Cluster (scripts/local/redisCluster.ts) for the
// tests: a replica taking over with CLUSTER FAILOVER, a primary killed with -9,
// a slot moved with `redis-cli --cluster reshard`, and rooms picked so that
// their slots land on the shard a test needs.
import { Redis } from 'ioredis';
import { redisCliCluster, type ClusterNode, type RedisCluster } from '../../scripts/local/redisCluster.js';

const FAILOVER_TIMEOUT_MS = 60_000;

/** The slot of a key, as the cluster computes it (hash tags included). */
export async function slotOf(cluster: RedisCluster, key: string): Promise<number> {
  return Number(await cluster.command(livePort(cluster), 'CLUSTER', 'KEYSLOT', key));
}

/** A node that runs (the first may have been killed). */
function livePort(cluster: RedisCluster): number {
  const live = cluster.servers.find((server) => server.alive);
  if (!live) throw new Error('no node of the cluster runs');
  return live.port;
}

/** The slot of a room: every key and channel of a room shares it (bus/keys.ts hash-tags them). */
export function roomSlot(cluster: RedisCluster, room: string): Promise<number> {
  return slotOf(cluster, `chat:{${room}}:live`);
}

export async function primaries(cluster: RedisCluster): Promise<ClusterNode[]> {
  return (await cluster.topology()).filter((node) => node.role === 'primary' && !node.failed && node.slots.length > 0).sort((a, b) => a.slots[0][0] - b.slots[0][0]);
}

/**
 * For each live primary (ordered by first slot), `perShard` room names whose
 * slots it serves, named `${prefix}-<n>`.
 */
export async function roomsOnEachShard(cluster: RedisCluster, perShard: number, prefix = 'room'): Promise<string[][]> {
  const shards = await primaries(cluster);
  const found = shards.map((): string[] => []);
  for (let n = 0; found.some((rooms) => rooms.length < perShard); n++) {
    if (n > 10_000) throw new Error('no rooms found for every shard');
    const room = `${prefix}-${n}`;
    const slot = await roomSlot(cluster, room);
    const shard = shards.findIndex((node) => node.slots.some(([first, last]) => slot >= first && slot <= last));
    if (found[shard].length < perShard) found[shard].push(room);
  }
  return found;
}

/** A room name whose slot is exactly `slot` (the first slot of a shard is the one `reshard --cluster-slots 1` moves). */
export async function roomInSlot(cluster: RedisCluster, slot: number, prefix = 'busy'): Promise<string> {
  const client = new Redis({ port: livePort(cluster), host: '127.0.0.1' });
  try {
    for (let start = 0; start < 1_000_000; start += 20_000) {
      const pipeline = client.pipeline();
      for (let n = start; n < start + 20_000; n++) pipeline.cluster('KEYSLOT', `chat:{${prefix}-${n}}:live`);
      const answers = (await pipeline.exec())!;
      const hit = answers.findIndex(([, value]) => Number(value) === slot);
      if (hit >= 0) return `${prefix}-${start + hit}`;
    }
  } finally {
    client.disconnect();
  }
  throw new Error(`no room name found in slot ${slot}`);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = FAILOVER_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function replicaOf(nodes: ClusterNode[], primary: ClusterNode): ClusterNode {
  const replica = nodes.find((node) => node.role === 'replica' && node.primaryId === primary.id && !node.failed);
  if (!replica) throw new Error(`primary ${primary.port} has no live replica`);
  return replica;
}

/**
 * `CLUSTER FAILOVER` on a replica of the primary serving `slot`: the planned
 * handover (no write lost). Resolves with the new primary once the cluster is
 * healthy again.
 */
export async function failover(cluster: RedisCluster, slot: number): Promise<ClusterNode> {
  const primary = await cluster.primaryOf(slot);
  const replica = replicaOf(await cluster.topology(), primary);
  await cluster.command(replica.port, 'CLUSTER', 'FAILOVER');
  await waitFor(`replica ${replica.port} to serve slot ${slot}`, async () => (await cluster.primaryOf(slot)).port === replica.port);
  await cluster.waitHealthy();
  return cluster.primaryOf(slot);
}

/**
 * kill -9 of the primary serving `slot` (it must have a replica): the cluster
 * notices after its node timeout and promotes the replica. Resolves with the
 * killed node's port and the new primary once the cluster is healthy again.
 */
export async function killPrimary(cluster: RedisCluster, slot: number): Promise<{ killed: number; promoted: ClusterNode }> {
  const primary = await cluster.primaryOf(slot);
  replicaOf(await cluster.topology(), primary);
  cluster.server(primary.port).kill('SIGKILL');
  await waitFor(`a replica to take slot ${slot} over from ${primary.port}`, async () => (await cluster.primaryOf(slot)).port !== primary.port);
  await cluster.waitHealthy();
  return { killed: primary.port, promoted: await cluster.primaryOf(slot) };
}

/** Starts a killed node again; it rejoins as a replica of whoever took its slots. */
export async function restartNode(cluster: RedisCluster, port: number): Promise<void> {
  await cluster.server(port).restart();
  await waitFor(`node ${port} to rejoin`, async () => {
    const nodes = await cluster.topology();
    return nodes.some((node) => node.port === port && !node.failed);
  });
  await cluster.waitHealthy();
}

/**
 * `redis-cli --cluster reshard`: moves the lowest `count` slots of the
 * primary serving `slot` to the primary `to`, keys and all (MIGRATE), while
 * clients keep writing (they are sent ASK, then MOVED).
 */
export async function reshard(cluster: RedisCluster, slot: number, to: ClusterNode, count = 1, onLog?: (line: string) => void): Promise<void> {
  const from = await cluster.primaryOf(slot);
  await redisCliCluster(
    ['reshard', `127.0.0.1:${from.port}`, '--cluster-from', from.id, '--cluster-to', to.id, '--cluster-slots', String(count), '--cluster-yes'],
    onLog,
  );
  await cluster.waitHealthy();
}
