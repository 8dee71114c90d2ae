// `npm run bench:shards`: does cluster mode spread the Redis load? The same
// workload (rooms of 5 on 2 instances, every member sending) against a Redis
// Cluster of 1 primary and of 3 (REDIS_MODE=cluster both times, no replicas),
// alternated 1, 3, 3, 1 on fresh processes. Reported per run: each primary's
// CPU time (user + system, /proc) over the measured window per delivery, both
// as spent and less what the node spends idle (measured first, with every
// client connected and joined but silent: cluster bus, cron, the instances'
// heartbeats and slot-map reads), and the medians per shard count. Writes
// bench/results/shards.json.
//   npm run bench:shards [-- --seconds 15 --rate 20]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisCluster } from '../scripts/local/redisCluster.js';
import { startInstance, type Instance } from '../scripts/local/instance.js';
import { CLIENTS, type Client } from './clients.js';
import { cpuMs } from './measure.js';
import type { ShardsRun as Run } from './shardsDoc.js';

const ROOMS = 30;
const MEMBERS = 5;
const INSTANCES = 2;
const WARMUP_MS = 3000;
const IDLE_MS = 5000;
const ORDER = [1, 3, 3, 1];

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '15' }, rate: { type: 'string', default: '20' }, out: { type: 'string' } } });
const windowMs = Number(values.seconds) * 1000;
const ratePerMember = Number(values.rate);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function run(shards: number): Promise<Run> {
  const redis = await startRedisCluster({ shards });
  const instances: Instance[] = [];
  const clients: Client[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    for (let i = 0; i < INSTANCES; i++) {
      instances.push(
        await startInstance({
          instanceId: `shards-${i + 1}`,
          redisUrl: redis.url,
          env: { REDIS_MODE: 'cluster', RATE_LIMIT: '100000', LOG_LEVEL: 'warn', DRAIN_SECONDS: '0' },
        }),
      );
    }
    let counting = false;
    let deliveries = 0;
    let sends = 0;
    for (let room = 0; room < ROOMS; room++) {
      for (let member = 0; member < MEMBERS; member++) {
        const client = await CLIENTS.service(instances[(room + member) % INSTANCES].url, () => {
          if (counting) deliveries++;
        });
        await client.join(`bench-shards-${room}`);
        clients.push(client);
      }
    }
    const nodes = (await redis.topology()).filter((node) => node.role === 'primary');
    const pids = new Map(nodes.map((node) => [node.port, redis.server(node.port).pid]));
    const idleStart = new Map(nodes.map((node) => [node.port, cpuMs(pids.get(node.port)!)]));
    await sleep(IDLE_MS);
    const idlePerSecond = new Map(nodes.map((node) => [node.port, ((cpuMs(pids.get(node.port)!) - idleStart.get(node.port)!) * 1000) / IDLE_MS]));
    clients.forEach((client, i) => {
      const room = `bench-shards-${Math.floor(i / MEMBERS)}`;
      // Spread over the interval so sends do not all land in one tick.
      setTimeout(() => {
        timers.push(
          setInterval(() => {
            client.send(room, `m${Date.now()}`);
            if (counting) sends++;
          }, 1000 / ratePerMember),
        );
      }, (i * 1000) / ratePerMember / clients.length);
    });
    await sleep(WARMUP_MS);
    const before = new Map(nodes.map((node) => [node.port, cpuMs(pids.get(node.port)!)]));
    const instancesBefore = instances.reduce((sum, instance) => sum + cpuMs(instance.pid), 0);
    counting = true;
    await sleep(windowMs);
    counting = false;
    const perShard = nodes
      .map((node) => {
        const spent = cpuMs(pids.get(node.port)!) - before.get(node.port)!;
        const idle = idlePerSecond.get(node.port)!;
        return {
          port: node.port,
          slots: node.slots.reduce((sum, [first, last]) => sum + last - first + 1, 0),
          cpuMs: Math.round(spent),
          idleCpuMsPerSecond: round(idle),
          cpuUsPerDelivery: round((spent * 1000) / deliveries),
          loadCpuUsPerDelivery: round(((spent - (idle * windowMs) / 1000) * 1000) / deliveries),
        };
      })
      .sort((a, b) => a.port - b.port);
    const instancesCpu = instances.reduce((sum, instance) => sum + cpuMs(instance.pid), 0) - instancesBefore;
    return {
      shards,
      sends,
      deliveries,
      redisCpuUsPerDelivery: round(perShard.reduce((sum, shard) => sum + shard.cpuUsPerDelivery, 0)),
      busiestShardCpuUsPerDelivery: Math.max(...perShard.map((shard) => shard.cpuUsPerDelivery)),
      redisLoadCpuUsPerDelivery: round(perShard.reduce((sum, shard) => sum + shard.loadCpuUsPerDelivery, 0)),
      busiestShardLoadCpuUsPerDelivery: Math.max(...perShard.map((shard) => shard.loadCpuUsPerDelivery)),
      instancesCpuUsPerDelivery: round((instancesCpu * 1000) / deliveries),
      perShard,
    };
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const client of clients) client.close();
    await Promise.allSettled(instances.map((instance) => instance.stop('SIGTERM')));
    await redis.stop();
  }
}

const round = (value: number) => Math.round(value * 100) / 100;
/** The middle value; of an even count, the mean of the two middle ones. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
}

const runs: Run[] = [];
for (const shards of ORDER) {
  process.stdout.write(`bench:shards: ${shards} shard(s) ...\n`);
  runs.push(await run(shards));
  process.stdout.write(`${JSON.stringify(runs.at(-1))}\n`);
}
const summary = (shards: number) => {
  const mine = runs.filter((r) => r.shards === shards);
  return {
    redisCpuUsPerDelivery: round(median(mine.map((r) => r.redisCpuUsPerDelivery))),
    busiestShardCpuUsPerDelivery: round(median(mine.map((r) => r.busiestShardCpuUsPerDelivery))),
    redisLoadCpuUsPerDelivery: round(median(mine.map((r) => r.redisLoadCpuUsPerDelivery))),
    busiestShardLoadCpuUsPerDelivery: round(median(mine.map((r) => r.busiestShardLoadCpuUsPerDelivery))),
    deliveriesPerSecond: Math.round(median(mine.map((r) => r.deliveries)) / (windowMs / 1000)),
  };
};
const one = summary(1);
const three = summary(3);
const results = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${cpus().length} vCPU ${cpus()[0]?.model ?? ''}`.trim(),
  command: `npm run bench:shards -- --seconds ${values.seconds} --rate ${values.rate}`,
  workload: { rooms: ROOMS, membersPerRoom: MEMBERS, instances: INSTANCES, sendsPerMemberPerSecond: ratePerMember, windowSeconds: windowMs / 1000, order: ORDER },
  runs,
  summary: {
    one,
    three,
    /** The busiest of 3 primaries against the single one: below 1 means the load spread. */
    busiestShardRatio: round(three.busiestShardCpuUsPerDelivery / one.busiestShardCpuUsPerDelivery),
    /** All 3 primaries together against the single one: the cost of sharding, if any. */
    totalRatio: round(three.redisCpuUsPerDelivery / one.redisCpuUsPerDelivery),
    /** The two ratios on the CPU the traffic cost (idle spending taken off). */
    busiestShardLoadRatio: round(three.busiestShardLoadCpuUsPerDelivery / one.busiestShardLoadCpuUsPerDelivery),
    totalLoadRatio: round(three.redisLoadCpuUsPerDelivery / one.redisLoadCpuUsPerDelivery),
  },
};
const file = values.out ?? join(fileURLToPath(new URL('.', import.meta.url)), 'results', 'shards.json');
mkdirSync(join(file, '..'), { recursive: true });
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`bench:shards: ${JSON.stringify(results.summary)}\nbench:shards: written to ${file}\n`);
process.exit(0);
