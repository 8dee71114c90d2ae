// The local Redis Cluster (scripts/local/redisCluster.ts) and the faults the
// service's cluster tests inflict on it (test/helpers/redisCluster.ts): real
// redis-server processes joined by redis-cli, on free loopback ports.
import { after, before, describe, it } from 'node:test';
import { localCli } from './support.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Cluster as ClusterClient } from 'ioredis';
import { clusterPorts, parseClusterNodes, startRedisCluster, type RedisCluster } from '../../scripts/local/redisCluster.js';
import { joinAs } from '../helpers/wsClient.js';
import type { MessageFrame } from '../../service/src/protocol/frames.js';
import { assertPortFree, freePort, freePortBlock } from '../../scripts/local/ports.js';
import { isAlive } from '../../scripts/local/children.js';
import { failover, killPrimary, primaries, reshard, restartNode, roomInSlot, roomSlot, roomsOnEachShard } from '../helpers/redisCluster.js';

describe('local Redis Cluster, 3 shards with a replica each', () => {
  let cluster: RedisCluster;
  let client: ClusterClient;

  before(async () => {
    cluster = await startRedisCluster({ shards: 3, replicas: 1 });
    client = new ClusterClient(cluster.url.split(',').map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })));
  });
  after(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('has three primaries covering every slot, each with a replica in sync', async () => {
    const nodes = await cluster.topology();
    assert.equal(nodes.length, 6);
    const shards = await primaries(cluster);
    assert.equal(shards.length, 3);
    assert.equal(shards.reduce((sum, node) => sum + node.slots.reduce((n, [a, b]) => n + b - a + 1, 0), 0), 16_384);
    for (const primary of shards) assert.ok(nodes.some((node) => node.role === 'replica' && node.primaryId === primary.id), `primary ${primary.port} has a replica`);
  });

  it('finds rooms on every shard, and a room in a given slot', async () => {
    const rooms = await roomsOnEachShard(cluster, 2);
    const shards = await primaries(cluster);
    for (const [i, shardRooms] of rooms.entries()) {
      for (const room of shardRooms) assert.equal((await cluster.primaryOf(await roomSlot(cluster, room))).id, shards[i].id);
    }
    const room = await roomInSlot(cluster, shards[1].slots[0][0]);
    assert.equal(await roomSlot(cluster, room), shards[1].slots[0][0]);
  });

  it('hands a shard to its replica with CLUSTER FAILOVER, keeping its data', async () => {
    const room = (await roomsOnEachShard(cluster, 1, 'fo'))[0][0];
    const slot = await roomSlot(cluster, room);
    await client.set(`chat:{${room}}:x`, 'kept');
    const before = await cluster.primaryOf(slot);
    const after = await failover(cluster, slot);
    assert.notEqual(after.port, before.port);
    assert.equal(await client.get(`chat:{${room}}:x`), 'kept');
    const old = (await cluster.topology()).find((node) => node.port === before.port)!;
    assert.equal(old.role, 'replica', 'the old primary follows the new one');
  });

  it('promotes the replica when a primary is killed with -9, and takes the killed node back as a replica', async () => {
    const room = (await roomsOnEachShard(cluster, 1, 'kill'))[2][0];
    const slot = await roomSlot(cluster, room);
    await client.set(`chat:{${room}}:x`, 'kept');
    const primary = await cluster.primaryOf(slot);
    // WAIT: the write reached the replica before the kill, as the failover test in the service relies on.
    assert.equal(await cluster.command(primary.port, 'WAIT', 1, 5000), 1);
    const { killed, promoted } = await killPrimary(cluster, slot);
    assert.equal(killed, primary.port);
    assert.equal(isAlive(cluster.server(killed).pid), false);
    assert.notEqual(promoted.port, killed);
    assert.equal(await client.get(`chat:{${room}}:x`), 'kept');
    await restartNode(cluster, killed);
    const back = (await cluster.topology()).find((node) => node.port === killed)!;
    assert.equal(back.role, 'replica');
    assert.equal(back.primaryId, promoted.id);
  });

  it('moves a slot with its keys to another primary with redis-cli --cluster reshard', async () => {
    const shards = await primaries(cluster);
    const slot = shards[0].slots[0][0];
    const room = await roomInSlot(cluster, slot, 'moved');
    await client.set(`chat:{${room}}:x`, 'kept');
    await reshard(cluster, slot, shards[1]);
    assert.equal((await cluster.primaryOf(slot)).id, shards[1].id);
    assert.equal(Number(await cluster.command(shards[1].port, 'CLUSTER', 'COUNTKEYSINSLOT', slot)), 1);
    assert.equal(await client.get(`chat:{${room}}:x`), 'kept');
  });

  it('keeps serving the other shards while one has no primary (cluster-require-full-coverage no)', async () => {
    const lone = await startRedisCluster({ shards: 3 });
    try {
      const [first, second] = await primaries(lone);
      lone.server(first.port).kill('SIGKILL');
      // Until the others agree the node failed, nothing changes; after, a full-coverage cluster refuses everything.
      const deadline = Date.now() + 30_000;
      while (!parseClusterNodes(String(await lone.command(second.port, 'CLUSTER', 'NODES'))).some((node) => node.id === first.id && node.failed)) {
        assert.ok(Date.now() < deadline, 'the killed primary is never marked failed');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      // The failed primary holds no live slots now: shard 0 of the live ones is `second`.
      const room = (await roomsOnEachShard(lone, 1, 'alive'))[0][0];
      assert.equal(await lone.command(second.port, 'SET', `chat:{${room}}:x`, 'ok'), 'OK');
    } finally {
      await lone.stop();
    }
  });

  it('stops every node and frees every port', async () => {
    const other = await startRedisCluster({ shards: 1 });
    const pids = other.servers.map((server) => server.pid);
    assert.equal((await other.topology())[0].slots[0][1], 16_383);
    // A lone node learns no address of its own from a MEET; without announcing one,
    // CLUSTER SLOTS names it "" and a cluster client cannot connect to it.
    const [[, , [host, port]]] = (await other.command(other.ports[0], 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    assert.deepEqual([host, port], ['127.0.0.1', other.ports[0]]);
    await other.stop();
    for (const pid of pids) assert.equal(isAlive(pid), false);
    for (const port of other.ports) await assertPortFree(port, 'after stop');
  });
});

describe('npm run local -- --redis-shards', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'chat-cli-shards-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));
  const cli = localCli(stateDir);

  it('refuses a taken node port or cluster-bus port, naming the flag', async () => {
    const base = await freePortBlock(12);
    for (const [offset, named] of [[4, '--redis-port \\+ 4'], [9, '--redis-port \\+ 9, a cluster bus']] as const) {
      const blocker = createServer().listen(base + offset, '127.0.0.1');
      await new Promise((resolve, reject) => blocker.once('listening', resolve).once('error', reject));
      try {
        const result = cli('--detach', '--redis-shards', '3', '--redis-replicas', '1', '--redis-port', String(base), '--https-port', String(await freePort()), '--http-port', String(await freePort()));
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, new RegExp(`port ${base + offset} \\(${named}\\) is already in use`));
      } finally {
        blocker.close();
      }
    }
  });

  it('starts 3 instances on a 3-shard cluster with a replica each in the background, chats across instances, and stops clean', async () => {
    const redisPort = await freePortBlock(12);
    const ports = { https: await freePort(), http: await freePort() };
    const started = cli('--detach', '--redis-shards', '3', '--redis-replicas', '1', '--redis-port', String(redisPort), '--https-port', String(ports.https), '--http-port', String(ports.http), '--drain-seconds', '0');
    try {
      assert.equal(started.status, 0, started.stderr);
      assert.match(started.stdout, /redis cluster \(REDIS_MODE=cluster, REDIS_URL=redis:\/\/127\.0\.0\.1:\d+(,redis:\/\/127\.0\.0\.1:\d+){5}\)/);
      assert.equal(started.stdout.match(/ primary slots \d+-\d+/g)?.length, 3, started.stdout);
      assert.equal(started.stdout.match(/ replica$/gm)?.length, 3, started.stdout);
      // Two members on different instances (round robin) in a room.
      const url = `wss://127.0.0.1:${ports.https}/ws`;
      const alice = await joinAs(url, 'lobby', 'alice');
      const bob = await joinAs(url, 'lobby', 'bob');
      try {
        assert.notEqual(alice.hello.instance, bob.hello.instance);
        alice.send({ type: 'send', room: 'lobby', text: 'across shards', ref: '1' });
        const got = await bob.next<MessageFrame>((f) => f.type === 'message' && f.room === 'lobby', 'bob hears alice');
        assert.equal(got.text, 'across shards');
      } finally {
        alice.ws.terminate();
        bob.ws.terminate();
      }
    } finally {
      const stopped = cli('stop');
      assert.equal(stopped.status, 0, stopped.stderr);
    }
    for (const [port] of clusterPorts(redisPort, 3, 1)) await assertPortFree(port, 'after stop');
    for (const port of [ports.https, ports.http]) await assertPortFree(port, 'after stop');
  });

  it('refuses bad shard and replica counts', () => {
    assert.match(cli('--redis-shards', '0').stderr, /--redis-shards must be an integer from 1 to 16 \(got 0\)/);
    assert.match(cli('--redis-replicas', '1').stderr, /--redis-replicas needs --redis-shards/);
    assert.match(cli('--redis-shards', '3', '--redis-replicas', 'x').stderr, /--redis-replicas must be an integer from 0 to 3 \(got x\)/);
  });
});
