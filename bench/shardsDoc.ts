// The "Sharded Redis" section of docs/performance.md, generated from
// bench/results/shards.json (written by `npm run bench:shards`).

/** One primary's figures in one run. */
export interface ShardFigures {
  port: number;
  slots: number;
  cpuMs: number;
  idleCpuMsPerSecond: number;
  cpuUsPerDelivery: number;
  loadCpuUsPerDelivery: number;
}

/** One run of bench/shards.ts (CPU per delivery in µs). */
export interface ShardsRun {
  shards: number;
  sends: number;
  deliveries: number;
  redisCpuUsPerDelivery: number;
  busiestShardCpuUsPerDelivery: number;
  redisLoadCpuUsPerDelivery: number;
  busiestShardLoadCpuUsPerDelivery: number;
  instancesCpuUsPerDelivery: number;
  perShard: ShardFigures[];
}

interface Side {
  redisCpuUsPerDelivery: number;
  busiestShardCpuUsPerDelivery: number;
  redisLoadCpuUsPerDelivery: number;
  busiestShardLoadCpuUsPerDelivery: number;
  deliveriesPerSecond: number;
}

export interface ShardsResults {
  date: string;
  machine: string;
  command: string;
  workload: { rooms: number; membersPerRoom: number; instances: number; sendsPerMemberPerSecond: number; windowSeconds: number; order: number[] };
  runs: ShardsRun[];
  summary: { one: Side; three: Side; busiestShardRatio: number; totalRatio: number; busiestShardLoadRatio: number; totalLoadRatio: number };
}

const n = (value: number, digits = 2) => value.toLocaleString('en-US', { maximumFractionDigits: digits });

export function shardsSection(results: ShardsResults): string {
  const { workload: w, summary: s } = results;
  const runRows = results.runs.map(
    (run, i) =>
      `| ${i + 1} | ${run.shards} | ${n(run.deliveries / w.windowSeconds, 0)} | ${run.perShard.map((shard) => n(shard.cpuUsPerDelivery)).join(' / ')} | ${run.perShard.map((shard) => n(shard.loadCpuUsPerDelivery)).join(' / ')} | ${n(run.redisCpuUsPerDelivery)} | ${n(run.instancesCpuUsPerDelivery)} |`,
  );
  return [
    '## Sharded Redis: 1 primary against 3',
    '',
    'Does `REDIS_MODE=cluster` spread the Redis load? `bench/shards.ts` runs one',
    `workload against a Redis Cluster of 1 primary and of 3 (no replicas, the service in cluster mode both times): ${w.rooms} rooms of ${w.membersPerRoom} members`,
    `on ${w.instances} instances, every member sending ${w.sendsPerMemberPerSecond} messages a second, measured over ${w.windowSeconds} s after a warm-up,`,
    `alternated ${w.order.join(', ')} on fresh processes. Each primary's CPU time (user + system, /proc) is divided by the deliveries`,
    'of the window, as spent and less what that node spends idle (measured first, every client joined but silent: cluster',
    "bus, cron, the instances' heartbeats and slot-map reads).",
    '',
    `Measured on ${results.machine}, ${results.date}, with \`${results.command}\`; every process shares the 2 cores.`,
    '',
    '| | 1 primary | 3 primaries | 3 / 1 |',
    '|---|---:|---:|---:|',
    `| busiest primary, µs CPU per delivery | ${n(s.one.busiestShardCpuUsPerDelivery)} | ${n(s.three.busiestShardCpuUsPerDelivery)} | ${n(s.busiestShardRatio)} |`,
    `| the same less idle spending | ${n(s.one.busiestShardLoadCpuUsPerDelivery)} | ${n(s.three.busiestShardLoadCpuUsPerDelivery)} | ${n(s.busiestShardLoadRatio)} |`,
    `| all primaries together, µs CPU per delivery | ${n(s.one.redisCpuUsPerDelivery)} | ${n(s.three.redisCpuUsPerDelivery)} | ${n(s.totalRatio)} |`,
    `| the same less idle spending | ${n(s.one.redisLoadCpuUsPerDelivery)} | ${n(s.three.redisLoadCpuUsPerDelivery)} | ${n(s.totalLoadRatio)} |`,
    `| deliveries/s | ${n(s.one.deliveriesPerSecond, 0)} | ${n(s.three.deliveriesPerSecond, 0)} | |`,
    '',
    `Medians of the two runs of each (the mean of the two). The offered rate was ${n(w.rooms * w.membersPerRoom * w.sendsPerMemberPerSecond * w.membersPerRoom, 0)} deliveries/s; the driver,`,
    'sharing the cores, reached what the runs show, and the figures are per delivery made. Every run:',
    '',
    '| run | primaries | deliveries/s | µs CPU per delivery, each primary | less idle, each primary | all primaries | both instances |',
    '|---:|---:|---:|---|---|---:|---:|',
    ...runRows,
    '',
    'The busiest primary of three spends less per delivery than the single one did, so the ceiling one',
    "primary's CPU puts on the service moves up; the rooms spread over the shards by their slots. The three",
    'together spend more than the one: each primary gets a third of the commands, so a read or a write on its',
    'sockets carries fewer of them, and its fixed costs are paid three times. On this machine all processes',
    'share 2 cores; on ElastiCache each shard has its own.',
    '',
  ].join('\n');
}
