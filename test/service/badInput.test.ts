// Every kind of bad input gets its answer, and the connection (or, where the
// protocol says so, only that connection) pays for it; nobody else notices.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { connect, sleep, type TestClient } from '../helpers/wsClient.js';
import type { ErrorFrame } from '../../service/src/protocol/frames.js';

let redis: RedisServer;
let strict: Instance; // small limits
let metered: Instance; // RATE_LIMIT 2
let roomy: Instance; // high rate limit, short ping, small send buffer
const clients: TestClient[] = [];
const wsUrl = (instance: Instance) => `${instance.url.replace('http', 'ws')}/ws`;

async function client(instance: Instance, options = {}): Promise<TestClient> {
  const c = await connect(wsUrl(instance), options);
  clients.push(c);
  return c;
}

async function expectError(c: TestClient, frame: object | string | Buffer, code: string, ref?: string): Promise<void> {
  if (Buffer.isBuffer(frame)) c.ws.send(frame, { binary: false });
  else c.send(frame);
  const error = await c.next<ErrorFrame>((f) => f.type === 'error', `error ${code}`);
  assert.equal(error.code, code, JSON.stringify(error));
  assert.equal(typeof error.message, 'string');
  assert.equal(error.ref, ref);
  // The connection stays usable.
  c.send({ type: 'ping', ref: 'alive' });
  await c.next((f) => f.type === 'pong' && f.ref === 'alive', 'pong after error');
}

before(async () => {
  redis = await startRedis();
  [strict, metered, roomy] = await Promise.all([
    startInstance({
      instanceId: 'strict',
      redisUrl: redis.url,
      env: { MAX_ROOMS_PER_CONNECTION: '2', MAX_TEXT_BYTES: '64', ALLOWED_ORIGINS: 'https://good.example', DRAIN_SECONDS: '0' },
    }),
    startInstance({ instanceId: 'metered', redisUrl: redis.url, env: { RATE_LIMIT: '2', DRAIN_SECONDS: '0' } }),
    startInstance({
      instanceId: 'roomy',
      redisUrl: redis.url,
      env: { RATE_LIMIT: '100000', PING_INTERVAL_MS: '300', MAX_BUFFERED_BYTES: '65536', DRAIN_SECONDS: '0' },
    }),
  ]);
});

after(async () => {
  for (const c of clients) c.ws.terminate();
  await Promise.allSettled([strict?.stop('SIGKILL'), metered?.stop('SIGKILL'), roomy?.stop('SIGKILL')]);
  await redis?.stop();
});

describe('invalid frames get an error frame and the connection lives on', () => {
  it('covers every error code a frame can earn', async () => {
    const c = await client(strict);
    await expectError(c, '{not json', 'bad_json');
    await expectError(c, '[1,2]', 'bad_request');
    await expectError(c, { type: 'dance', ref: 'd1' }, 'unknown_type', 'd1');
    await expectError(c, { type: 'join', room: 'bad room', name: 'x' }, 'bad_request');
    await expectError(c, { type: 'join', room: 'r', name: 'a\u0007b' }, 'bad_request');
    await expectError(c, { type: 'send', room: 'r', text: 'x', ref: 's1' }, 'not_joined', 's1');
    await expectError(c, { type: 'leave', room: 'r' }, 'not_joined');
    c.send({ type: 'join', room: 'r1', name: 'n' });
    c.send({ type: 'join', room: 'r2', name: 'n' });
    await c.next((f) => f.type === 'joined' && f.room === 'r2', 'joined r2');
    await expectError(c, { type: 'join', room: 'r3', name: 'n', ref: 'j3' }, 'too_many_rooms', 'j3');
    await expectError(c, { type: 'join', room: 'r1', name: 'n', ref: 'again' }, 'bad_request', 'again');
    await expectError(c, { type: 'leave', room: 'nowhere', ref: 'l' }, 'not_joined', 'l');
    await expectError(c, { type: 'send', room: 'r1', text: 'x'.repeat(65), ref: 'long' }, 'too_long', 'long');
    await expectError(c, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), 'bad_request');
    c.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    const binary = await c.next<ErrorFrame>((f) => f.type === 'error', 'binary refused');
    assert.match(binary.message, /binary/);
  });

  it('meters frames at RATE_LIMIT a second with a burst of twice that, the join included', async () => {
    const c = await client(metered);
    c.send({ type: 'join', room: 'rate', name: 'n' });
    await c.next((f) => f.type === 'joined', 'joined');
    for (let i = 0; i < 6; i++) c.send({ type: 'send', room: 'rate', text: `m${i}`, ref: `${i}` });
    await c.next((f) => f.type === 'error' && f.code === 'rate_limited', 'rate_limited');
    await sleep(500);
    const accepted = c.frames.filter((f) => f.type === 'message').length;
    const limited = c.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
    assert.equal(accepted, 3, 'burst of 2 x RATE_LIMIT, less the join');
    assert.equal(limited, 3);
    await sleep(600);
    c.send({ type: 'send', room: 'rate', text: 'later', ref: 'later' });
    await c.next((f) => f.type === 'message' && f.ref === 'later', 'allowed again after refill');
  });

  it('closes with 1009 a frame over the 16 KiB hard limit, without disturbing others', async () => {
    const victim = await client(roomy);
    const bystander = await client(roomy);
    victim.send('x'.repeat(16 * 1024 + 1));
    assert.equal((await victim.closed).code, 1009);
    bystander.send({ type: 'ping', ref: 'b' });
    await bystander.next((f) => f.type === 'pong', 'bystander unaffected');
  });

  it('closes with 1008 a client that keeps sending invalid frames', async () => {
    const c = await client(roomy);
    for (let i = 0; i < 200; i++) c.send('nope');
    assert.equal((await c.closed).code, 1008);
  });

  it('closes with 1013 a client that stops reading, instead of buffering without bound', async () => {
    const slow = await client(roomy);
    slow.send({ type: 'join', room: 'flood', name: 'slow' });
    await slow.next((f) => f.type === 'joined', 'joined');
    const fast = await client(roomy);
    fast.send({ type: 'join', room: 'flood', name: 'fast' });
    await fast.next((f) => f.type === 'joined', 'joined');
    // Stop reading: the kernel buffers fill, then the server's.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const text = 'y'.repeat(4000);
    const dropped = async () => /chat_slow_consumers_dropped_total\{instance="roomy"\} [1-9]/.test(await (await fetch(`${roomy.url}/metrics`)).text());
    let sent = 0;
    while (!(await dropped())) {
      assert.ok(sent < 20_000, 'the server dropped the slow reader before 80 MB were sent');
      for (let i = 0; i < 200; i++, sent++) fast.send({ type: 'send', room: 'flood', text });
      await sleep(20);
    }
    // Reading again, the client finds the close frame behind what was already buffered.
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    assert.equal((await slow.closed).code, 1013);
    const bystander = await client(roomy);
    bystander.send({ type: 'ping', ref: 'b' });
    await bystander.next((f) => f.type === 'pong' && f.ref === 'b', 'others are unaffected');
  });

  it('terminates a peer that stops answering pings', async () => {
    const deaf = await client(roomy, { autoPong: false });
    const healthy = await client(roomy);
    const closed = await Promise.race([deaf.closed, sleep(5000).then(() => undefined)]);
    assert.ok(closed, 'deaf peer was cut off');
    assert.equal(healthy.ws.readyState, 1, 'a peer that answers stays');
  });
});

describe('upgrades', () => {
  it('refuses an origin that is not allowed with 403, and lets allowed or absent origins in', async () => {
    await assert.rejects(connect(wsUrl(strict), { origin: 'https://evil.example' }), /403/);
    const good = await client(strict, { origin: 'https://good.example' });
    assert.equal(good.hello.instance, 'strict');
    const tool = await client(strict);
    assert.equal(tool.hello.protocol, 1);
  });

  it('answers 404 for other paths', async () => {
    await assert.rejects(connect(`${roomy.url.replace('http', 'ws')}/chat`), /404/);
  });
});

describe('HTTP', () => {
  it('serves the page, health, readiness, metrics, and 404 for anything else', async () => {
    const page = await fetch(`${roomy.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    // The page may open sockets to its own origin only (browser.test.ts shows that is enough).
    assert.match(page.headers.get('content-security-policy') ?? '', /(^|; )connect-src 'self'(;|$)/);
    assert.match(page.headers.get('strict-transport-security') ?? '', /^max-age=(\d{8,}); includeSubDomains$/);
    assert.match(await page.text(), /id="messages"/);
    const module = await fetch(`${roomy.url}/protocol/session.js`);
    assert.equal(module.status, 200);
    assert.match(module.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(`${roomy.url}/healthz`)).status, 200);
    const ready = await fetch(`${roomy.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', instance: 'roomy' });
    const metrics = await (await fetch(`${roomy.url}/metrics`)).text();
    for (const name of [
      'chat_connections',
      'chat_rooms',
      'chat_messages_received_total',
      'chat_messages_delivered_total',
      'chat_delivery_latency_seconds_bucket',
      'chat_redis_reconnects_total',
      'chat_slow_consumers_dropped_total',
    ]) {
      assert.match(metrics, new RegExp(`^${name}\\{`, 'm'), name);
    }
    for (const path of ['/nope', '/ws', '/protocol/../config.js', '/healthz/x']) {
      assert.equal((await fetch(`${roomy.url}${path}`)).status, 404, path);
    }
    assert.equal((await fetch(`${roomy.url}/healthz`, { method: 'POST' })).status, 404);
  });
});

