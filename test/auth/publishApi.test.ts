// The publish API and the development token endpoint, against real instances
// and a real redis-server: a key is required and compared exactly, bad input
// gets a 400 that says what is wrong, nothing refused is stored, and a message
// posted on one instance reaches a member connected to another.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { connect, sleep, type TestClient } from '../helpers/wsClient.js';
import type { MessageFrame } from '../../service/src/protocol/frames.js';
import { keys } from '../../service/src/bus/keys.js';
import { AUDIENCE, ISSUER, SECRET } from './support.js';

const KEY = 'publish-key-of-at-least-thirty-two-characters';
let redis: RedisServer;
let redisClient: Redis;
let api: Instance;
let member: Instance;
let plain: Instance;
const clients: TestClient[] = [];

const post = (instance: Instance, room: string, body: unknown, authorization?: string) =>
  fetch(`${instance.url}/api/rooms/${room}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function assertNothingStored(room: string): Promise<void> {
  assert.equal(await redisClient.exists(keys.history(room)), 0, `nothing of room ${room} in Redis`);
}

before(async () => {
  redis = await startRedis();
  redisClient = new Redis(redis.url);
  const jwt = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, DRAIN_SECONDS: '0' };
  [api, member, plain] = await Promise.all([
    startInstance({ instanceId: 'api', redisUrl: redis.url, env: { ...jwt, PUBLISH_API_KEY: KEY, PUBLISH_API_RATE: '5', MAX_TEXT_BYTES: '100' } }),
    startInstance({ instanceId: 'member', redisUrl: redis.url, env: { ...jwt, AUTH_DEV_TOKENS: '1' } }),
    startInstance({ instanceId: 'plain', redisUrl: redis.url, env: { DRAIN_SECONDS: '0' } }),
  ]);
});

after(async () => {
  for (const client of clients) client.ws.terminate();
  await Promise.allSettled([api, member, plain].filter(Boolean).map((instance) => instance.stop('SIGKILL')));
  redisClient?.disconnect();
  await redis?.stop();
});

describe('publish API', () => {
  it('refuses a request without the key or with a wrong one, storing nothing', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${KEY}x`, KEY, `Basic ${KEY}`]) {
      const response = await post(api, 'guarded', { name: 'Bot', text: 'hi' }, authorization);
      assert.equal(response.status, 401, String(authorization));
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.match(((await response.json()) as { message: string }).message, /Authorization: Bearer/);
    }
    await assertNothingStored('guarded');
  });

  it('answers 400 with what is wrong, storing nothing', async () => {
    const cases: Array<[unknown, RegExp, string?]> = [
      ['{"name":', /not valid JSON/],
      [[1], /JSON object/],
      [{ text: 'hi' }, /name must be/],
      [{ name: 'A\u0000', text: 'hi' }, /name must be/],
      [{ name: 'Bot' }, /text must be a non-empty string/],
      [{ name: 'Bot', text: 'x'.repeat(101) }, /longer than 100 bytes/],
      [{ name: 'Bot', text: 'hi' }, /room must match/, 'bad%20room'],
    ];
    for (const [body, message, room] of cases) {
      const response = await post(api, room ?? 'bad-input', body, `Bearer ${KEY}`);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(((await response.json()) as { message: string }).message, message);
    }
    await assertNothingStored('bad-input');
  });

  it('stores and fans out like a client send: 201 with the id every member receives', async () => {
    // A member on another instance, admitted with a token from the development endpoint.
    const minted = await fetch(`${member.url}/dev/token?name=Watcher`);
    assert.equal(minted.status, 200);
    const { token } = (await minted.json()) as { token: string };
    const watcher = await connect(`${member.url.replace('http', 'ws')}/ws?token=${token}`);
    clients.push(watcher);
    watcher.send({ type: 'join', room: 'news', name: 'ignored' });
    await watcher.next((f) => f.type === 'joined', 'joined news');

    const response = await post(api, 'news', { name: 'System', text: 'maintenance at noon' }, `Bearer ${KEY}`);
    assert.equal(response.status, 201);
    const { id } = (await response.json()) as { id: string };
    const message = await watcher.next<MessageFrame>((f) => f.type === 'message', 'the published message');
    assert.deepEqual(
      { id: message.id, name: message.name, text: message.text, origin: message.origin },
      { id, name: 'System', text: 'maintenance at noon', origin: 'api' },
    );
    assert.equal(message.ref, undefined);
    const stored = await redisClient.xrange(keys.history('news'), '-', '+');
    assert.deepEqual(stored.map(([storedId]) => storedId), [id]);
  });

  it('is rate limited per instance', async () => {
    // The earlier requests took from the bucket (every authorized request does); let it fill up again.
    await sleep(2500);
    const responses = await Promise.all(Array.from({ length: 20 }, () => post(api, 'flood', { name: 'Bot', text: 'x' }, `Bearer ${KEY}`)));
    const statuses = responses.map((response) => response.status);
    const accepted = statuses.filter((status) => status === 201).length;
    assert.ok(accepted >= 10 && accepted < 20, `a burst of twice the rate passes, then 429: ${statuses.join(',')}`);
    assert.ok(statuses.every((status) => status === 201 || status === 429));
    assert.equal(await redisClient.xlen(keys.history('flood')), accepted, 'only what was accepted is stored');
  });

  it('does not exist without PUBLISH_API_KEY', async () => {
    const response = await post(plain, 'news', { name: 'Bot', text: 'hi' }, `Bearer ${KEY}`);
    assert.equal(response.status, 404);
  });
});

describe('development token endpoint', () => {
  it('mints a token per call for a new user, and exists only with AUTH_DEV_TOKENS=1', async () => {
    const [one, two] = await Promise.all([1, 2].map(async () => ((await (await fetch(`${member.url}/dev/token?name=Ann`)).json()) as { token: string }).token));
    const sub = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { sub: string }).sub;
    assert.notEqual(sub(one), sub(two), 'each tab is its own user');
    assert.equal((await fetch(`${member.url}/dev/token?name=${encodeURIComponent('a\nb')}`)).status, 400);
    assert.equal((await fetch(`${api.url}/dev/token`)).status, 404);
    assert.equal((await fetch(`${plain.url}/dev/token`)).status, 404);
  });
});

