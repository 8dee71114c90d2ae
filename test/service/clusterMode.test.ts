// REDIS_MODE=cluster: two instances on a real Redis Cluster of 3 primaries
// with a replica each. Rooms whose slots land on each of the three shards chat
// across instances, with presence; every room's stream lives on the primary of
// its slot and nowhere else; and a classic PUBLISH is never used (it would be
// copied to every node).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRedisCluster, type RedisCluster } from '../../scripts/local/redisCluster.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { loadConfig } from '../../service/src/config.js';
import { parseSeeds, sharded } from '../../service/src/bus/clusterClient.js';
import { keys } from '../../service/src/bus/keys.js';
import { APPEND_AND_PUBLISH } from '../../service/src/history/redisStream.js';
import type { MessageFrame, PresenceFrame } from '../../service/src/protocol/frames.js';
import { primaries, roomSlot, roomsOnEachShard } from '../helpers/redisCluster.js';
import { joinAs, type TestClient } from '../helpers/wsClient.js';

describe('REDIS_MODE=cluster against a 3-shard Redis Cluster', () => {
  let redis: RedisCluster;
  const instances: Instance[] = [];
  const clients: TestClient[] = [];

  before(async () => {
    redis = await startRedisCluster({ shards: 3, replicas: 1 });
    for (const id of ['c-1', 'c-2']) {
      // One seed is enough: the client learns the rest from it.
      instances.push(await startInstance({ instanceId: id, redisUrl: `redis://127.0.0.1:${redis.ports[id === 'c-1' ? 0 : 1]}`, env: { REDIS_MODE: 'cluster' } }));
    }
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await Promise.allSettled(instances.map((instance) => instance.stop('SIGTERM')));
    await redis?.stop();
  });

  const join = async (instance: Instance, room: string, name: string) => {
    const client = await joinAs(`ws://127.0.0.1:${instance.port}/ws`, room, name);
    clients.push(client);
    return client;
  };

  it('delivers across instances in rooms on every shard, with presence, each message stored on its slot\'s primary', async () => {
    const rooms = (await roomsOnEachShard(redis, 2, 'x')).flat();
    const shards = await primaries(redis);
    for (const room of rooms) {
      const alice = await join(instances[0], room, 'alice');
      const bob = await join(instances[1], room, 'bob');
      await alice.next<PresenceFrame>((f) => f.type === 'presence' && f.room === room && f.members === 2, `presence 2 in ${room}`);
      alice.send({ type: 'send', room, text: `hi ${room}`, ref: 'r1' });
      const got = await bob.next<MessageFrame>((f) => f.type === 'message' && f.room === room, `bob hears ${room}`);
      assert.equal(got.text, `hi ${room}`);
      assert.equal(got.origin, 'c-1');
      const ack = await alice.next<MessageFrame>((f) => f.type === 'message' && f.room === room, `alice's ack in ${room}`);
      assert.equal(ack.ref, 'r1');
      assert.equal(ack.id, got.id);
      // The stream is on the primary serving the room's slot, and only there.
      const owner = await redis.primaryOf(await roomSlot(redis, room));
      for (const shard of shards) {
        const length = Number(await redis.command(shard.port, 'EXISTS', keys.history(room)).catch(() => 0));
        assert.equal(length, shard.id === owner.id ? 1 : 0, `${room} stored on ${owner.port} only`);
      }
    }
    // Rooms were spread: each shard's primary holds streams.
    for (const shard of shards) assert.ok(Number(await redis.command(shard.port, 'DBSIZE')) > 0, `shard ${shard.port} holds rooms`);
  });

  it('publishes with SPUBLISH only: no classic PUBLISH reaches the nodes', async () => {
    const before = await Promise.all(redis.ports.map(async (port) => publishCalls(String(await redis.command(port, 'INFO', 'commandstats')))));
    const [room] = (await roomsOnEachShard(redis, 1, 'spub'))[2];
    const alice = await join(instances[0], room, 'alice');
    alice.send({ type: 'send', room, text: 'sharded', ref: 's' });
    await alice.next((f) => f.type === 'message' && f.room === room, 'ack');
    const afterCalls = await Promise.all(redis.ports.map(async (port) => publishCalls(String(await redis.command(port, 'INFO', 'commandstats')))));
    assert.deepEqual(afterCalls.map((calls) => calls.publish), before.map((calls) => calls.publish), 'no PUBLISH anywhere');
    assert.ok(afterCalls.reduce((sum, calls) => sum + calls.spublish, 0) > before.reduce((sum, calls) => sum + calls.spublish, 0), 'SPUBLISH used');
  });
});

/** PUBLISH and SPUBLISH calls from INFO commandstats (scripts' calls included). */
function publishCalls(info: string): { publish: number; spublish: number } {
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return { publish: calls('publish'), spublish: calls('spublish') };
}

describe('cluster mode configuration', () => {
  it('REDIS_MODE is single by default, cluster takes one or more seeds, anything else is refused by name', () => {
    assert.equal(loadConfig({}).redisMode, 'single');
    const config = loadConfig({ REDIS_MODE: 'cluster', REDIS_URL: 'rediss://:tok@a.example:6379,rediss://:tok@b.example:6380' });
    assert.equal(config.redisMode, 'cluster');
    assert.deepEqual(parseSeeds(config.redisUrl!), {
      nodes: [
        { host: 'a.example', port: 6379 },
        { host: 'b.example', port: 6380 },
      ],
      username: undefined,
      password: 'tok',
      tls: true,
    });
    assert.throws(() => loadConfig({ REDIS_MODE: 'sharded' }), /REDIS_MODE must be one of single, cluster \(got "sharded"\)/);
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://a:1,redis://b:2' }), /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    assert.throws(() => loadConfig({ REDIS_MODE: 'cluster', REDIS_URL: 'redis://a:1,rediss://b:2' }), /not a mix of both/);
    assert.throws(
      () => loadConfig({ REDIS_MODE: 'cluster', REDIS_URL: 'redis://:hunter2@a:1,http://b' }),
      (error: Error) => /REDIS_URL must be one or more redis:\/\/ or rediss:\/\/ seed URLs/.test(error.message) && !error.message.includes('hunter2'),
    );
  });

  it('the cluster scripts publish with SPUBLISH', () => {
    assert.match(sharded(APPEND_AND_PUBLISH), /redis\.call\('SPUBLISH', ARGV\[1\]/);
    assert.doesNotMatch(sharded(APPEND_AND_PUBLISH), /'PUBLISH'/);
    assert.throws(() => sharded("return redis.call('GET', KEYS[1])"), /no PUBLISH/);
  });
});
