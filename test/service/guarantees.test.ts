// Delivery guarantees against clients that misbehave and Redis faults (issue
// 14): a real redis-server, real instances, and where the fault needs it a
// loopback TCP proxy between instance and Redis (test/helpers/tcpProxy.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { connect, eventually, joinAs, sleep, type TestClient } from '../helpers/wsClient.js';
import { byName, startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';
import { keys } from '../../service/src/bus/keys.js';
import type { JoinedFrame, MessageFrame, ServerFrame } from '../../service/src/protocol/frames.js';
import { ChatSession, type SocketLike } from '../../service/src/protocol/session.js';

let redis: RedisServer;
let admin: Redis;
const instances: Instance[] = [];
const clients: TestClient[] = [];
const proxies: TcpProxy[] = [];
const wsUrl = (instance: Instance) => `${instance.url.replace('http', 'ws')}/ws`;

async function start(id: string, env: Record<string, string> = {}, redisUrl = redis.url): Promise<Instance> {
  const instance = await startInstance({ instanceId: id, redisUrl, env: { DRAIN_SECONDS: '0', ...env } });
  instances.push(instance);
  return instance;
}

/** An instance that reaches Redis through a fault-injecting proxy. */
async function startBehindProxy(id: string, env: Record<string, string> = {}): Promise<{ instance: Instance; proxy: TcpProxy }> {
  const proxy = await startTcpProxy({ port: redis.port });
  proxies.push(proxy);
  const instance = await start(id, env, `redis://127.0.0.1:${proxy.port}`);
  return { instance, proxy };
}

async function member(instance: Instance, room: string, name: string, since?: string): Promise<TestClient> {
  const client = await joinAs(wsUrl(instance), room, name, since);
  clients.push(client);
  return client;
}

/** Sends `count` messages in batches, each acknowledged before the next (the writer also reads all of them live). */
async function storeMany(writer: TestClient, room: string, count: number, text: (n: number) => string): Promise<void> {
  const already = writer.messages(room).length;
  for (let n = 0; n < count; n += 25) {
    for (let k = n; k < Math.min(count, n + 25); k++) writer.send({ type: 'send', room, text: text(k) });
    await eventually(() => writer.messages(room).length >= already + Math.min(count, n + 25), `${n + 25} stored`, 30_000);
  }
}

const ready = async (instance: Instance) => (await fetch(`${instance.url}/readyz`)).status === 200;

/** Fails instead of hanging when the promise does not settle in time. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms))),
  ]);
}

/** Opens a WebSocket and resolves with the code it is closed with (a refused upgrade counts as a failure). */
function closeCode(url: string, headers: Record<string, string>): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('close', (code) => resolve(code));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', () => undefined);
    }),
    10_000,
    'the server closes the connection',
  );
}

/** Commands Redis has run (scripts count with the commands they call), except the INFO calls that read this. */
async function commandCount(client = admin): Promise<number> {
  const info = await client.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) if (match[1] !== 'info') total += Number(match[2]);
  return total;
}

async function netOutputBytes(): Promise<number> {
  const info = await admin.info('stats');
  return Number(/total_net_output_bytes:(\d+)/.exec(info)![1]);
}

before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

after(async () => {
  for (const client of clients) client.ws.terminate();
  await Promise.allSettled(instances.map((instance) => instance.stop('SIGKILL')));
  await Promise.allSettled(proxies.map((proxy) => proxy.close()));
  admin?.disconnect();
  await redis?.stop();
});

describe('recovery depends only on the server', () => {
  it('a member joining with a far-future since does not silence the room after a Redis reconnect', async () => {
    const { instance, proxy } = await startBehindProxy('poison');
    const room = 'poison';
    // The poisoner is the room's first member on this instance.
    await member(instance, room, 'poisoner', '99999999999999-0');
    const honest = await member(instance, room, 'honest');
    proxy.cut();
    await eventually(async () => !(await ready(instance)), 'not ready after the cut', 10_000, 20).catch(() => undefined);
    await eventually(() => ready(instance), 'ready again', 15_000);
    honest.send({ type: 'send', room, text: 'after the reconnect', ref: 'h1' });
    const own = await honest.next<MessageFrame>((f) => f.type === 'message' && f.text === 'after the reconnect', 'own message after the reconnect', 10_000);
    assert.equal(own.ref, 'h1', 'the acknowledgement arrives');
    const late = await member(instance, room, 'late');
    honest.send({ type: 'send', room, text: 'second' });
    await late.next((f) => f.type === 'message' && (f as MessageFrame).text === 'second', 'a later joiner gets live messages');
    await honest.next((f) => f.type === 'message' && (f as MessageFrame).text === 'second', 'and so does the first member');
  });

  it('answers recovered:false once the room history is gone, even when new messages exist after since', async () => {
    const instance = await start('lost-history');
    const room = 'evicted';
    const writer = await member(instance, room, 'w');
    writer.send({ type: 'send', room, text: 'before', ref: 'b' });
    const before = await writer.next<MessageFrame>((f) => f.type === 'message' && f.ref === 'b', 'stored');
    writer.ws.terminate();
    await sleep(200);
    // Eviction (or a failover without persistence) takes every key of the room.
    const roomKeys = await admin.keys(`chat:{${room}}:*`);
    await admin.del(...roomKeys);
    const other = await member(instance, room, 'o');
    other.send({ type: 'send', room, text: 'after the loss', ref: 'a' });
    await other.next((f) => f.type === 'message' && (f as MessageFrame).ref === 'a', 'stored after the loss');
    const rejoin = await member(instance, room, 'w', before.id);
    const joined = rejoin.frames.find((f): f is JoinedFrame => f.type === 'joined')!;
    assert.equal(joined.recovered, false, 'history before since is gone: the client cannot know what it missed');
  });

  it('tells live members of a gap the instance found during its catch-up, and ChatSession rejoins on it', async () => {
    const { instance, proxy } = await startBehindProxy('gap');
    const writerInstance = await start('gap-writer');
    const room = 'gap';
    const frames: ServerFrame[] = [];
    const session = new ChatSession({
      connect: () => new WebSocket(wsUrl(instance)) as unknown as SocketLike,
      name: 'watcher',
      onFrame: (frame) => frames.push(frame),
    });
    try {
      session.join(room);
      await eventually(() => frames.some((f) => f.type === 'joined'), 'session joined');
      const writer = await member(writerInstance, room, 'w');
      writer.send({ type: 'send', room, text: 'one', ref: '1' });
      await eventually(() => frames.some((f) => f.type === 'message'), 'first message reaches the session');
      // The instance loses Redis; meanwhile the history is lost and written again.
      proxy.refuse(true);
      proxy.cut();
      await eventually(async () => !(await ready(instance)), 'instance notices', 10_000);
      await admin.del(...(await admin.keys(`chat:{${room}}:*`)));
      writer.send({ type: 'send', room, text: 'two', ref: '2' });
      await writer.next((f) => f.type === 'message' && (f as MessageFrame).ref === '2', 'stored during the outage');
      proxy.refuse(false);
      await eventually(() => ready(instance), 'ready again', 15_000);
      await eventually(() => frames.some((f) => (f as { type: string }).type === 'gap'), 'a gap frame', 15_000);
      await eventually(
        () => frames.filter((f) => f.type === 'joined').length >= 2 && (frames.filter((f) => f.type === 'joined').at(-1) as JoinedFrame).recovered === false,
        `the session rejoined and was told recovered:false: ${JSON.stringify(frames.filter((f) => f.type !== 'message'))} ${instance.logs.slice(-8).join('\n')}`,
        10_000,
      );
      writer.send({ type: 'send', room, text: 'three' });
      await eventually(() => frames.some((f) => f.type === 'message' && f.text === 'three'), 'live again after the rejoin');
    } finally {
      session.close();
    }
  });
});

describe('each send is stored at most once', () => {
  it('a send whose answer was lost and whose Redis connection was cut is not stored twice', async () => {
    const { instance, proxy } = await startBehindProxy('dedupe');
    const room = 'once';
    const sender = await member(instance, room, 's');
    await sleep(1200); // the heartbeat has measured Redis' clock
    proxy.dropReplies(byName('chat:'));
    sender.send({ type: 'send', room, text: 'only once', ref: 'once-1' });
    await eventually(async () => (await admin.xlen(keys.history(room))) === 1, 'the append ran in Redis', 5000, 10);
    proxy.cut(byName('chat:'));
    proxy.heal();
    await eventually(() => ready(instance), 'ready again', 15_000);
    await sleep(1500);
    assert.equal(await admin.xlen(keys.history(room)), 1, 'stored once');
    assert.equal(sender.messages(room).filter((m) => m.text === 'only once').length <= 1, true, 'delivered at most once');
  });
});

describe('a repeated ref', () => {
  it('is acknowledged with the id it was stored under, as a valid frame, after its message was trimmed away', async () => {
    const instance = await start('dedupe-trimmed', { HISTORY_LIMIT: '1' });
    const room = 'trimmed-ref';
    const sender = await member(instance, room, 's');
    const raw: string[] = [];
    sender.ws.prependListener('message', (data) => raw.push(String(data)));
    sender.send({ type: 'send', room, text: 'm0', ref: 'r0' });
    const first = await sender.next<MessageFrame>((f) => f.type === 'message' && f.ref === 'r0', 'first ack');
    sender.send({ type: 'send', room, text: 'm1', ref: 'r1' });
    await sender.next((f) => f.type === 'message' && f.ref === 'r1', 'second ack');
    // m0 is trimmed (HISTORY_LIMIT=1); its ref is still remembered.
    sender.send({ type: 'send', room, text: 'm0', ref: 'r0' });
    const again = await sender.next<MessageFrame>((f) => f.type === 'message' && f.ref === 'r0', 'ack of the repeat');
    assert.equal(again.id, first.id, 'the id it was stored under');
    assert.equal(again.text, 'm0');
    for (const text of raw) assert.doesNotThrow(() => JSON.parse(text), text);
    assert.equal(await admin.xlen(keys.history(room)), 1, 'nothing stored again');
  });
});

describe('healing after Redis faults', () => {
  it('retries a resubscribe that timed out until it succeeds', async () => {
    const { instance, proxy } = await startBehindProxy('resub');
    const room = 'resub';
    const a = await member(instance, room, 'a');
    // The subscriber reconnects, but Redis answers its resubscribe only after the command timeout.
    proxy.delayReplies(3000, byName('chat-sub:'), /subscribe/i);
    const logsBefore = instance.logs.length;
    proxy.cut(byName('chat-sub:'));
    await eventually(async () => !(await ready(instance)), 'not ready', 10_000, 20);
    await eventually(() => instance.logs.slice(logsBefore).some((line) => /resubscribe failed/.test(line)), 'a resubscribe timed out', 30_000);
    proxy.heal();
    await eventually(() => ready(instance), 'ready again once Redis answers in time', 15_000);
    a.send({ type: 'send', room, text: 'after resubscribe', ref: 'r' });
    await a.next((f) => f.type === 'message' && (f as MessageFrame).ref === 'r', 'delivery after resubscribe', 10_000);
  });

  it('keeps idle Redis commands per second flat however many rooms an instance holds', async () => {
    // A Redis of its own: only this instance's commands are counted.
    const own = await startRedis();
    const ownAdmin = new Redis(own.url);
    const instance = await start('idle', {}, own.url);
    try {
      const rooms = 200;
      // One connection per 20 rooms (MAX_ROOMS_PER_CONNECTION).
      const holders: TestClient[] = [];
      for (let i = 0; i < rooms / 20; i++) holders.push(await connect(wsUrl(instance)));
      clients.push(...holders);
      for (let i = 0; i < rooms; i++) {
        const holder = holders[Math.floor(i / 20)];
        holder.send({ type: 'join', room: `idle-${i}`, name: 'n' });
        await holder.next((f) => f.type === 'joined', `joined idle-${i}`);
      }
      await sleep(1000);
      const before = await commandCount(ownAdmin);
      await sleep(10_000);
      const perSecond = ((await commandCount(ownAdmin)) - before) / 10;
      // The once-a-second TIME plus one presence heartbeat per instance (a script of 4 commands every 5 s); not one script per room.
      assert.ok(perSecond < 5, `idle commands per second with ${rooms} rooms: ${perSecond}`);
    } finally {
      await instance.stop('SIGKILL');
      ownAdmin.disconnect();
      await own.stop();
    }
  });
});

describe('replay paced by the reader', () => {
  it('a healthy reader completes a 400 x 4 KB replay, and so does ChatSession across a reconnect', async () => {
    const instance = await start('replay', { RATE_LIMIT: '10000', JOIN_HISTORY: '1' });
    const room = 'big';
    const writer = await member(instance, room, 'w');
    const text = 'x'.repeat(4000);
    writer.send({ type: 'send', room, text: 'first', ref: 'first' });
    const first = await writer.next<MessageFrame>((f) => f.type === 'message' && f.ref === 'first', 'first');
    await storeMany(writer, room, 400, (n) => `${n}:${text}`);
    for (let run = 0; run < 3; run++) {
      const reader = await member(instance, room, `r${run}`, first.id);
      await eventually(() => reader.messages(room).length === 400, `replay ${run} complete`, 30_000);
      assert.equal(reader.ws.readyState, WebSocket.OPEN, 'not closed as a slow consumer');
      reader.ws.terminate();
    }
    // ChatSession: it has the first message, loses its connection while 400 more are
    // stored, then must recover all of them on reconnect.
    let received = 0;
    let blocked = false;
    let socket: WebSocket | undefined;
    const session = new ChatSession({
      connect: () => (socket = new WebSocket(blocked ? 'ws://127.0.0.1:1/ws' : wsUrl(instance))) as unknown as SocketLike,
      name: 'session',
      initialBackoffMs: 50,
      maxBackoffMs: 200,
      onMessage: (_message, arrival) => {
        if (arrival === 'new') received++;
      },
    });
    try {
      session.join(room);
      await eventually(() => received === 1, 'the last message (JOIN_HISTORY 1)');
      blocked = true;
      socket!.terminate();
      await storeMany(writer, room, 400, (n) => `late ${n}:${text}`);
      blocked = false;
      await eventually(() => received === 401, `the session recovered all 400 (got ${received - 1})`, 30_000);
    } finally {
      session.close();
    }
  });
});

describe('presence reaches every member', () => {
  /** The newest headcount the client was told, by `joined` or by a `presence` frame. */
  const members = (client: TestClient, room: string) =>
    client.frames.reduce((last, f) => ((f.type === 'joined' || f.type === 'presence') && f.room === room ? f.members : last), -1);

  it('a member still reading its replay when the headcount changes is told the new one once live', async () => {
    const instance = await start('presence-replay', { RATE_LIMIT: '10000', JOIN_HISTORY: '1', MAX_TEXT_BYTES: '8000' });
    const room = 'presence-replay';
    const writer = await member(instance, room, 'w');
    writer.send({ type: 'send', room, text: 'first', ref: 'first' });
    const first = await writer.next<MessageFrame>((f) => f.type === 'message' && f.ref === 'first', 'first');
    // 8 MB: more than the socket buffers between the instance and the reader hold.
    await storeMany(writer, room, 1000, (n) => `${n}:${'x'.repeat(7900)}`);
    // The reader asks for all 1,000 and stops reading: its replay, paced by what
    // it reads, stays under way while a third member comes and the room's
    // presence frame (to live members) goes out.
    const reader = await connect(wsUrl(instance));
    clients.push(reader);
    reader.send({ type: 'join', room, name: 'r', since: first.id });
    (reader.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    await sleep(300);
    const third = await member(instance, room, 'third');
    await eventually(() => members(writer, room) === 3, 'the live member sees 3');
    await sleep(500); // past the presence frame interval
    (reader.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await eventually(() => reader.messages(room).length === 1000, 'replay complete', 30_000);
    await eventually(() => members(reader, room) === 3, `the reader is told 3 members (told ${members(reader, room)})`, 3000);
    assert.equal(members(third, room), 3);
  });
});

describe('abuse is bounded', () => {
  it('meters join and leave: 1,000 pairs are refused and closed, not turned into Redis commands', async () => {
    const instance = await start('joins');
    const client = await connect(wsUrl(instance));
    clients.push(client);
    const before = await commandCount();
    for (let n = 0; n < 1000; n++) {
      client.send({ type: 'join', room: `j${n % 5}`, name: 'j' });
      client.send({ type: 'leave', room: `j${n % 5}` });
    }
    const closed = await within(client.closed, 15_000, 'closed for abuse');
    assert.equal(closed.code, 1008, 'closed for abuse');
    assert.ok(client.frames.some((f) => f.type === 'error' && f.code === 'rate_limited'), 'answered rate_limited');
    await sleep(500);
    const used = (await commandCount()) - before;
    assert.ok(used < 1000, `Redis commands for 1,000 join+leave pairs: ${used}`);
  });

  it('charges history reads: 20 join+leave pairs with since 0-0 on a 400 x 4 KB room cannot make Redis send the room 20 times', async () => {
    const instance = await start('reads', { RATE_LIMIT: '10000' });
    const room = 'heavy';
    const writer = await member(instance, room, 'w');
    const text = 'y'.repeat(4000);
    await storeMany(writer, room, 400, (n) => `${n}:${text}`);
    const reader = await connect(wsUrl(instance));
    clients.push(reader);
    const before = await netOutputBytes();
    for (let n = 0; n < 20; n++) {
      reader.send({ type: 'join', room, name: 'r', since: '0-0' });
      reader.send({ type: 'leave', room });
    }
    await sleep(3000);
    const sent = (await netOutputBytes()) - before;
    assert.ok(sent < 8 * 1024 * 1024, `Redis sent ${(sent / 1e6).toFixed(1)} MB for 20 replays of a 1.6 MB room`);
  });

  it('processes nothing after deciding to close, and logs an abusive close once, with the client address', async () => {
    const instance = await start('closer');
    const room = 'after-close';
    const client = await member(instance, room, 'c');
    const logLinesBefore = instance.logs.length;
    // 60 refused frames then 5 sends, all in one burst: the close comes at the 50th refusal.
    const burst: string[] = [];
    for (let n = 0; n < 60; n++) burst.push('{not json');
    for (let n = 0; n < 5; n++) burst.push(JSON.stringify({ type: 'send', room, text: `queued ${n}` }));
    for (const frame of burst) client.ws.send(frame);
    const closed = await within(client.closed, 10_000, 'closed');
    assert.equal(closed.code, 1008);
    await sleep(1000);
    assert.equal(await admin.xlen(keys.history(room)), 0, 'no send after the close decision was stored');
    const abusive = instance.logs.slice(logLinesBefore).filter((line) => /abusive/.test(line));
    assert.equal(abusive.length, 1, `one log line for one abusive client: ${abusive.length}`);
    assert.match(abusive[0], /"address":"127\.0\.0\.1"/);
  });
});

describe('connection caps', () => {
  it('caps connections per instance and per client address, trusting X-Forwarded-For only from TRUSTED_PROXIES', async () => {
    const strict = await start('caps', { MAX_CONNECTIONS: '4', MAX_CONNECTIONS_PER_ADDRESS: '2' });
    const url = wsUrl(strict);
    const a = await connect(url, { headers: { 'x-forwarded-for': '203.0.113.1' } });
    const b = await connect(url, { headers: { 'x-forwarded-for': '203.0.113.2' } });
    clients.push(a, b);
    // Loopback is not a trusted proxy here: both count as 127.0.0.1, and a third is refused.
    assert.equal(await closeCode(url, { 'x-forwarded-for': '203.0.113.3' }), 4029, 'third connection from one address');

    const proxied = await start('caps-proxied', { MAX_CONNECTIONS: '3', MAX_CONNECTIONS_PER_ADDRESS: '2', TRUSTED_PROXIES: '127.0.0.1/32' });
    const purl = wsUrl(proxied);
    const open: TestClient[] = [];
    for (const address of ['203.0.113.1', '203.0.113.1', '203.0.113.2']) open.push(await connect(purl, { headers: { 'x-forwarded-for': address } }));
    clients.push(...open);
    assert.equal(await closeCode(purl, { 'x-forwarded-for': '203.0.113.9' }), 4029, 'past the instance cap');
    open[2].ws.terminate();
    await sleep(300);
    assert.equal(await closeCode(purl, { 'x-forwarded-for': '203.0.113.1' }), 4029, 'past the cap of one address, behind a trusted proxy');
    const other = await connect(purl, { headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.5' } });
    clients.push(other);
    await sleep(300);
    assert.equal(other.ws.readyState, WebSocket.OPEN, 'a freed slot is usable by another address');
    assert.ok(proxied.logs.some((line) => /"address":"203\.0\.113\.5"/.test(line) && /connected/.test(line)), 'the client address (nearest untrusted hop) is logged on connect');
  });
});

describe('HISTORY_TTL', () => {
  it('makes a room history and its metadata expire, refreshed on each append', async () => {
    const instance = await start('ttl', { HISTORY_TTL: '30' });
    const room = 'ttl';
    const writer = await member(instance, room, 'w');
    writer.send({ type: 'send', room, text: 'expires', ref: 'e' });
    await writer.next((f) => f.type === 'message' && (f as MessageFrame).ref === 'e', 'stored');
    const ttl = await admin.pttl(keys.history(room));
    assert.ok(ttl > 0 && ttl <= 30_000, `history expires (pttl ${ttl})`);
    for (const key of [keys.history(room), keys.meta(room)]) {
      const keyTtl = await admin.pttl(key);
      assert.ok(keyTtl > 0 && keyTtl <= 30_000, `${key} expires (pttl ${keyTtl})`);
    }
  });
});
