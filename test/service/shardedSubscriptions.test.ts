// Sharded subscriptions (service/src/bus/shardedSubscriptions.ts) on a real
// local Redis Cluster of 3 primaries with a replica each: rooms on every
// shard hear their channel; a failover, a kill -9 and a slot migration each
// report the rooms that stopped hearing, then resubscribe them on the new
// primary and report them resumed; no message arrives twice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { startRedisCluster, type RedisCluster } from '../../scripts/local/redisCluster.js';
import { ShardedSubscriptions } from '../../service/src/bus/shardedSubscriptions.js';
import { keys } from '../../service/src/bus/keys.js';
import { failover, killPrimary, primaries, reshard, restartNode, roomInSlot, roomSlot, roomsOnEachShard } from '../helpers/redisCluster.js';
import { eventually } from '../helpers/wsClient.js';

describe('sharded subscriptions on a 3-shard cluster', () => {
  let redis: RedisCluster;
  let client: Cluster;
  let subs: ShardedSubscriptions;
  const heard = new Map<string, string[]>();
  const lost: string[][] = [];
  const resumed: string[][] = [];

  before(async () => {
    redis = await startRedisCluster({ shards: 3, replicas: 1 });
    client = new Cluster([{ host: '127.0.0.1', port: redis.ports[0] }], { slotsRefreshInterval: 500 });
    await new Promise((resolve) => client.once('ready', resolve));
    subs = new ShardedSubscriptions({
      cluster: client,
      connect: (node) => {
        const [host, port] = node.split(':');
        return new Redis({ host, port: Number(port), lazyConnect: true, autoResubscribe: false, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      },
      logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      message: (room, payload) => heard.set(room, [...(heard.get(room) ?? []), payload]),
      lost: (rooms) => lost.push(rooms),
      resumed: (rooms) => resumed.push(rooms),
    });
  });
  after(async () => {
    await subs?.close();
    client?.disconnect();
    await redis?.stop();
  });

  const publish = (room: string, payload: string) => client.spublish(keys.channel(room), payload);

  it('hears rooms on every shard, each message once', async () => {
    const rooms = (await roomsOnEachShard(redis, 2, 'each')).flat();
    for (const room of rooms) await subs.subscribe(room);
    for (const room of rooms) assert.equal(await publish(room, `${room}-1`), 1, `one subscriber of ${room}`);
    await eventually(() => rooms.every((room) => heard.get(room)?.length === 1), 'every room heard once');
    await subs.unsubscribe(rooms[0]);
    assert.equal(await publish(rooms[0], 'after'), 0);
  });

  for (const [fault, act] of [
    ['CLUSTER FAILOVER', (slot: number) => failover(redis, slot)],
    ['kill -9 of the primary', async (slot: number) => {
      const { killed } = await killPrimary(redis, slot);
      await restartNode(redis, killed);
    }],
    ['redis-cli --cluster reshard of the slot', async (slot: number) => reshard(redis, slot, (await primaries(redis)).find((node) => !node.slots.some(([a, b]) => slot >= a && slot <= b))!)],
  ] as const) {
    it(`${fault}: the room is reported lost, then resumed on the new primary, and hears new messages once`, async () => {
      const shards = await primaries(redis);
      const room = await roomInSlot(redis, shards[0].slots[0][0], `fault${lost.length}`);
      const bystander = (await roomsOnEachShard(redis, 1, `calm${lost.length}`))[1][0];
      await subs.subscribe(room);
      await subs.subscribe(bystander);
      const lostBefore = lost.length;
      const resumedBefore = resumed.length;
      await act(await roomSlot(redis, room));
      await eventually(() => resumed.slice(resumedBefore).some((rooms) => rooms.includes(room)), `${room} resumed`, 30_000);
      assert.ok(lost.slice(lostBefore).some((rooms) => rooms.includes(room)), 'reported lost before resumed');
      assert.ok(!lost.slice(lostBefore).flat().includes(bystander), 'a room on another shard is untouched');
      heard.delete(room);
      assert.equal(await publish(room, 'new'), 1, 'subscribed on exactly one node');
      await eventually(() => heard.get(room)?.length === 1, 'heard once');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(heard.get(room), ['new']);
    });
  }
});
