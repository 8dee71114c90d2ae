// Drain on SIGTERM and Redis restarting under traffic.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { connect, eventually, joinAs, sleep, type TestClient } from '../helpers/wsClient.js';
import type { ErrorFrame, MessageFrame } from '../../service/src/protocol/frames.js';
import { Redis } from 'ioredis';
import { keys } from '../../service/src/bus/keys.js';

let redis: RedisServer;
const instances: Instance[] = [];
const clients: TestClient[] = [];
const wsUrl = (instance: Instance) => `${instance.url.replace('http', 'ws')}/ws`;

async function member(instance: Instance, room: string, name: string): Promise<TestClient> {
  const client = await joinAs(wsUrl(instance), room, name);
  clients.push(client);
  return client;
}

async function status(instance: Instance, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(instance.url + path);
  return { status: response.status, body: await response.text() };
}

async function start(id: string, env: Record<string, string> = {}): Promise<Instance> {
  const instance = await startInstance({ instanceId: id, redisUrl: redis.url, env: { DRAIN_SECONDS: '2', ...env } });
  instances.push(instance);
  return instance;
}

before(async () => {
  redis = await startRedis({ persistence: true });
});

after(async () => {
  for (const client of clients) client.ws.terminate();
  await Promise.allSettled(instances.map((instance) => instance.stop('SIGKILL')));
  await redis?.stop();
});

describe('drain on SIGTERM', () => {
  it('turns /readyz 503 at once, refuses upgrades, keeps serving, closes with 1001 and exits 0', async () => {
    const draining = await start('drainer');
    const stays = await start('stays');
    const room = 'drain';
    const onDraining = await member(draining, room, 'd');
    const elsewhere = await member(stays, room, 'e');
    const sigtermAt = Date.now();
    process.kill(draining.pid, 'SIGTERM');
    await eventually(async () => (await status(draining, '/readyz')).status === 503, 'readyz 503', 1000, 20);
    assert.match((await status(draining, '/readyz')).body, /"reason":"draining"/);
    assert.equal((await status(draining, '/healthz')).status, 200, 'still alive');
    await assert.rejects(connect(wsUrl(draining)), /503/);
    // Existing connections keep working while the load balancer stops routing.
    onDraining.send({ type: 'send', room, text: 'during drain' });
    await elsewhere.next((f) => f.type === 'message' && (f as MessageFrame).text === 'during drain', 'message sent during drain');
    const closed = await onDraining.closed;
    assert.equal(closed.code, 1001);
    assert.ok(Date.now() - sigtermAt >= 1900, 'waited DRAIN_SECONDS before closing');
    const code = await draining.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - sigtermAt < (2 + 10) * 1000, 'exited within DRAIN_SECONDS + 10 s');
    await elsewhere.next((f) => f.type === 'presence' && f.members === 1, 'presence drops at once');
  });
});

describe('Redis restart in the middle of traffic', () => {
  it('answers not ready and unavailable while Redis is down, then recovers and delivers again', async () => {
    const [a, b] = [await start('ra', { RATE_LIMIT: '1000' }), await start('rb', { RATE_LIMIT: '1000' })];
    const room = 'restart';
    const sender = await member(a, room, 's');
    const receiver = await member(b, room, 'r');
    let n = 0;
    let running = true;
    const unavailable: ErrorFrame[] = [];
    sender.ws.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === 'error') unavailable.push(frame);
    });
    const pump = (async () => {
      while (running) {
        sender.send({ type: 'send', room, text: `t${n++}`, ref: `q${n}` });
        await sleep(10);
      }
    })();
    await eventually(() => receiver.messages(room).length > 20, 'traffic flows');
    redis.kill('SIGTERM'); // stop() would also remove its data dir
    const downAt = Date.now();
    await eventually(async () => (await status(a, '/readyz')).status === 503, 'a not ready', 10_000);
    assert.match((await status(a, '/readyz')).body, /redis/);
    await eventually(() => unavailable.some((e) => e.code === 'unavailable'), 'sends answered unavailable', 10_000);
    await sleep(1000);
    await redis.restart();
    await eventually(async () => (await status(a, '/readyz')).status === 200 && (await status(b, '/readyz')).status === 200, 'ready again', 20_000);
    const outage = Date.now() - downAt;
    const before = receiver.messages(room).length;
    await eventually(() => receiver.messages(room).length > before + 20, 'delivery resumes across instances', 15_000);
    running = false;
    await pump;
    await sleep(300);
    // Nothing the sender got acknowledged is missing at the receiver, and nothing arrives twice.
    const acked = new Set(sender.messages(room).map((m) => m.id));
    const received = receiver.messages(room).map((m) => m.id);
    assert.equal(new Set(received).size, received.length, 'no duplicates');
    for (const id of acked) assert.ok(received.includes(id), `acknowledged ${id} reached the other instance`);
    assert.ok(outage > 1000);
    const metrics = await status(a, '/metrics');
    assert.match(metrics.body, /chat_redis_reconnects_total\{instance="ra"\} [1-9]/);
    assert.match(metrics.body, /chat_redis_errors_total\{instance="ra"\} [1-9]/);
    // Both processes lived through it.
    assert.equal((await status(a, '/healthz')).status, 200);
    assert.equal((await status(b, '/healthz')).status, 200);
  });
});

describe('Redis that stops answering (frozen, not closed)', () => {
  it('turns not ready within seconds, keeps client sockets, and serves again when Redis answers', async () => {
    const frozen = await startRedis();
    const instance = await startInstance({ instanceId: 'stall', redisUrl: frozen.url, env: { DRAIN_SECONDS: '0' } });
    instances.push(instance);
    try {
      const client = await member(instance, 'stall', 's');
      frozen.kill('SIGSTOP');
      await eventually(async () => (await status(instance, '/readyz')).status === 503, 'not ready while Redis is frozen', 10_000);
      assert.match((await status(instance, '/readyz')).body, /redis_not_answering/);
      client.send({ type: 'send', room: 'stall', text: 'while frozen', ref: 'f' });
      const error = await client.next<ErrorFrame>((f) => f.type === 'error', 'unavailable while frozen');
      assert.equal(error.code, 'unavailable');
      assert.equal(client.ws.readyState, 1, 'the client socket is kept');
      frozen.kill('SIGCONT');
      await eventually(async () => (await status(instance, '/readyz')).status === 200, 'ready again', 10_000);
      client.send({ type: 'send', room: 'stall', text: 'after', ref: 'a' });
      await client.next((f) => f.type === 'message' && (f as MessageFrame).ref === 'a', 'delivery after the stall');
    } finally {
      frozen.kill('SIGCONT');
      await instance.stop('SIGKILL');
      await frozen.stop();
    }
  });
});

describe('a send Redis runs only after the instance gave up on it', () => {
  it('is refused by Redis (past its deadline), so `unavailable` means not stored', async () => {
    const frozen = await startRedis();
    const instance = await startInstance({ instanceId: 'late', redisUrl: frozen.url, env: { DRAIN_SECONDS: '0' } });
    instances.push(instance);
    const reader = new Redis(frozen.url, { lazyConnect: true });
    try {
      const sender = await member(instance, 'late', 's');
      await sleep(1500); // the heartbeat has measured Redis' clock by now
      // Frozen while the instance still counts it as ready: the append is written to
      // Redis' socket and waits there, unanswered, past the instance's timeout.
      frozen.kill('SIGSTOP');
      sender.send({ type: 'send', room: 'late', text: 'sent into a frozen Redis', ref: 'late-1' });
      const error = await sender.next<ErrorFrame>((f) => f.type === 'error' && f.ref === 'late-1', 'unavailable after the command timeout', 10_000);
      assert.equal(error.code, 'unavailable');
      assert.match(error.message, /not stored/);
      await sleep(1000);
      frozen.kill('SIGCONT'); // Redis now reads and runs the queued script
      await eventually(async () => (await status(instance, '/readyz')).status === 200, 'ready again', 10_000);
      sender.send({ type: 'send', room: 'late', text: 'after', ref: 'late-2' });
      await sender.next((f) => f.type === 'message' && (f as MessageFrame).ref === 'late-2', 'a send after the freeze is delivered');
      await reader.connect();
      const stored = await reader.xrange(keys.history('late'), '-', '+');
      assert.equal(stored.length, 1, 'only the message sent after the freeze is in the history');
      assert.deepEqual(
        sender.messages('late').map((m) => m.text),
        ['after'],
        'the refused message was never delivered',
      );
    } finally {
      frozen.kill('SIGCONT');
      reader.disconnect();
      await instance.stop('SIGKILL');
      await frozen.stop();
    }
  });
});

describe('ElastiCache-style Redis: TLS (rediss://) and AUTH', () => {
  it('delivers across instances over rediss:// with a password, and is not ready with a wrong one', async () => {
    const secure = await startRedis({ tls: true, password: 's3cret-token' });
    const env = { DRAIN_SECONDS: '0', NODE_EXTRA_CA_CERTS: secure.caPath! };
    const [a, b] = await Promise.all(['tls-a', 'tls-b'].map((id) => startInstance({ instanceId: id, redisUrl: secure.url, env })));
    const wrong = await startInstance({ instanceId: 'tls-wrong', redisUrl: secure.url.replace('s3cret-token', 'nope'), env, waitReady: false });
    instances.push(a, b, wrong);
    try {
      assert.match(secure.url, /^rediss:\/\/:s3cret-token@127\.0\.0\.1:\d+$/);
      const sender = await member(a, 'tls', 's');
      const receiver = await member(b, 'tls', 'r');
      sender.send({ type: 'send', room: 'tls', text: 'over TLS' });
      const got = await receiver.next<MessageFrame>((f) => f.type === 'message', 'message over rediss');
      assert.equal(got.origin, 'tls-a');
      await sleep(1500);
      const refused = await status(wrong, '/readyz');
      assert.equal(refused.status, 503, 'a wrong auth token never becomes ready');
      assert.equal((await status(wrong, '/healthz')).status, 200, 'and does not crash');
    } finally {
      await Promise.allSettled([a.stop('SIGKILL'), b.stop('SIGKILL'), wrong.stop('SIGKILL')]);
      await secure.stop();
    }
  });
});

describe('WORKERS: node:cluster workers sharing the port', () => {
  it('runs each worker as its own member with its own instance id, and drains them all on SIGTERM', async () => {
    const multi = await start('multi', { WORKERS: '2', DRAIN_SECONDS: '0' });
    // /readyz answers as soon as one worker listens; the other joins the
    // round robin when it has connected to Redis, so keep connecting a while.
    const seen = new Set<string>();
    const until = Date.now() + 10_000;
    while (seen.size < 2 && Date.now() < until) {
      const client = await connect(wsUrl(multi));
      seen.add(client.hello.instance);
      client.ws.terminate();
      if (seen.size < 2) await sleep(50);
    }
    assert.deepEqual([...seen].sort(), ['multi-w1', 'multi-w2']);
    // Members of one room on two workers of one machine still meet through Redis.
    const clientsByWorker = new Map<string, TestClient>();
    while (clientsByWorker.size < 2) {
      const client = await connect(wsUrl(multi));
      clients.push(client);
      if (clientsByWorker.has(client.hello.instance)) client.ws.terminate();
      else clientsByWorker.set(client.hello.instance, client);
    }
    const [one, two] = [...clientsByWorker.values()];
    for (const c of [one, two]) {
      c.send({ type: 'join', room: 'workers', name: 'w' });
      await c.next((f) => f.type === 'joined', 'joined');
    }
    one.send({ type: 'send', room: 'workers', text: 'across workers' });
    const got = await two.next<MessageFrame>((f) => f.type === 'message', 'message across workers');
    assert.notEqual(got.origin, two.hello.instance);
    // A scrape lands on either worker and answers for the whole instance: the
    // connection count the Auto Scaling group tracks is per machine, not per worker.
    const connectionLines = async () => (await status(multi, '/metrics')).body.split('\n').filter((l) => l.startsWith('chat_connections{'));
    await eventually(async () => (await connectionLines()).join() === 'chat_connections{instance="multi"} 2', 'both workers counted', 15_000);
    for (let scrape = 0; scrape < 6; scrape++) assert.deepEqual(await connectionLines(), ['chat_connections{instance="multi"} 2']);
    assert.equal(await multi.stop('SIGTERM', 20_000), 0);
  });
});
