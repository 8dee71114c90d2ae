// AUTH_MODE=jwt against real instances and a real redis-server: every refused
// token is refused at the upgrade with 401 and a reason, rooms and names come
// from the claims, forbidden joins and sends store nothing, and keys rotate
// through a JWKS endpoint on loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { connect, eventually, type TestClient } from '../helpers/wsClient.js';
import type { ErrorFrame, JoinedFrame, MessageFrame, PresenceFrame } from '../../service/src/protocol/frames.js';
import { keys } from '../../service/src/bus/keys.js';
import { AUDIENCE, ISSUER, SECRET, hsToken, refusal, rsaKey, sign, startJwks, type JwksServer, type KeyPair } from './support.js';

let redis: RedisServer;
let redisClient: Redis;
let jwks: JwksServer;
let keyA: KeyPair;
let keyB: KeyPair;
let hs: Instance;
let hs2: Instance;
let rs: Instance;
const clients: TestClient[] = [];
const wsUrl = (instance: Instance) => `${instance.url.replace('http', 'ws')}/ws`;

async function open(instance: Instance, token: string): Promise<TestClient> {
  const client = await connect(`${wsUrl(instance)}?token=${encodeURIComponent(token)}`);
  clients.push(client);
  return client;
}

const errorFor = (client: TestClient, ref: string) => client.next<ErrorFrame>((f) => f.type === 'error' && f.ref === ref, `error ${ref}`);

/** Nothing of the room reached Redis: no history, no presence. */
async function assertNothingStored(room: string): Promise<void> {
  assert.equal(await redisClient.exists(keys.history(room), keys.presence(room), keys.presenceTotal(room)), 0, `nothing of room ${room} in Redis`);
}

before(async () => {
  redis = await startRedis();
  redisClient = new Redis(redis.url);
  [keyA, keyB] = await Promise.all([rsaKey('key-a'), rsaKey('key-b')]);
  jwks = await startJwks([keyA.publicJwk]);
  const common = { AUTH_MODE: 'jwt', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_CLOCK_SKEW_SECONDS: '1', DRAIN_SECONDS: '0' };
  [hs, hs2, rs] = await Promise.all([
    startInstance({ instanceId: 'hs', redisUrl: redis.url, env: { ...common, AUTH_JWT_SECRET: SECRET } }),
    startInstance({ instanceId: 'hs2', redisUrl: redis.url, env: { ...common, AUTH_JWT_SECRET: SECRET } }),
    startInstance({ instanceId: 'rs', redisUrl: redis.url, env: { ...common, AUTH_JWKS_URL: jwks.url } }),
  ]);
});

after(async () => {
  for (const client of clients) client.ws.terminate();
  await Promise.allSettled([hs, hs2, rs].filter(Boolean).map((instance) => instance.stop('SIGKILL')));
  redisClient?.disconnect();
  await redis?.stop();
  await jwks?.close();
});

describe('the upgrade refuses a token it cannot accept, with 401 and the reason', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Promise<string | undefined>, RegExp]> = [
    ['no token', async () => undefined, /a token is required/],
    ['an empty token', async () => '', /a token is required/],
    ['not a JWT', async () => 'not.a.jwt', /malformed/],
    ['a bad signature', () => hsToken({}, 'another-secret-of-at-least-thirty-two-chars'), /signature does not verify/],
    ['the wrong issuer', () => hsToken({ iss: 'https://elsewhere.test' }), /wrong issuer/],
    ['the wrong audience', () => hsToken({ aud: 'another-app' }), /wrong audience/],
    ['an expired token', () => hsToken({ exp: now() - 120 }), /token expired/],
    ['a token not yet valid', () => hsToken({ nbf: now() + 120 }), /not yet valid/],
    ['no exp', () => hsToken({ exp: undefined }), /claim "exp"/],
    ['no sub', () => hsToken({ sub: undefined }), /claim "sub"/],
    ['no name', () => hsToken({ name: undefined }), /claim "name"/],
    ['a name with control characters', () => hsToken({ name: 'A\nB' }), /claim "name"/],
    ['rooms that are not patterns', () => hsToken({ rooms: ['a b'] }), /claim "rooms"/],
    [
      'alg none',
      async () => {
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: ISSUER, aud: AUDIENCE, sub: 'u', name: 'N', exp: now() + 600 })}.`;
      },
      /algorithm not allowed/,
    ],
  ];
  for (const [what, token, reason] of cases) {
    it(`refuses ${what}`, async () => {
      const { status, body } = await refusal(wsUrl(hs), await token());
      assert.equal(status, 401);
      assert.match(body, reason);
    });
  }

  it('refuses algorithm confusion: an HS256 token signed with the RSA public key as its secret', async () => {
    const token = await sign({}, { alg: 'HS256', kid: keyA.kid }, new TextEncoder().encode(keyA.publicPem));
    const { status, body } = await refusal(wsUrl(rs), token);
    assert.equal(status, 401);
    assert.match(body, /algorithm not allowed/);
  });

  it('logs refusals as a bounded summary, not a line each', async () => {
    for (let i = 0; i < 20; i++) await refusal(wsUrl(hs), 'not.a.jwt');
    await eventually(() => hs.logs.some((line) => line.includes('refused a token')), 'a refused-token log line');
    assert.ok(hs.logs.filter((line) => line.includes('refused a token')).length < 5, 'twenty refusals, a few lines');
  });

  it('refuses an RS256 token on the HS256 instance', async () => {
    const { status, body } = await refusal(wsUrl(hs), await sign({}, { alg: 'RS256', kid: keyA.kid }, keyA.privateKey));
    assert.equal(status, 401);
    assert.match(body, /algorithm not allowed/);
  });
});

describe('rooms and names come from the token', () => {
  it('uses the token name on messages, whatever the join says', async () => {
    const client = await open(hs, await hsToken({ sub: 'u-zoe', name: 'Zoe', rooms: ['team-*'] }));
    client.send({ type: 'join', room: 'team-red', name: 'Impostor' });
    await client.next((f) => f.type === 'joined' && f.room === 'team-red', 'joined team-red');
    client.send({ type: 'send', room: 'team-red', text: 'hi', ref: 's1' });
    const message = await client.next<MessageFrame>((f) => f.type === 'message' && f.ref === 's1', 'own message');
    assert.equal(message.name, 'Zoe');
  });

  it('answers forbidden to a join or send outside the rooms, stores nothing and keeps the connection', async () => {
    const client = await open(hs, await hsToken({ sub: 'u-bob', name: 'Bob', rooms: ['team-*', 'lobby'] }));
    client.send({ type: 'join', room: 'secret', name: 'Bob', ref: 'j1' });
    const joinError = await errorFor(client, 'j1');
    assert.equal(joinError.code, 'forbidden');
    assert.match(joinError.message, /does not permit room secret/);
    client.send({ type: 'send', room: 'secret', text: 'leak', ref: 's1' });
    assert.equal((await errorFor(client, 's1')).code, 'forbidden');
    // `*` is any run of characters, not a prefix match on its own.
    client.send({ type: 'join', room: 'lobby2', name: 'Bob', ref: 'j2' });
    assert.equal((await errorFor(client, 'j2')).code, 'forbidden');
    client.send({ type: 'ping', ref: 'p' });
    await client.next((f) => f.type === 'pong', 'pong: the connection lives on');
    await assertNothingStored('secret');
    await assertNothingStored('lobby2');
  });

  it('grants no room when the token has no rooms claim', async () => {
    const client = await open(hs, await hsToken({ sub: 'u-nobody', rooms: undefined }));
    client.send({ type: 'join', room: 'lobby', name: 'x', ref: 'j' });
    assert.equal((await errorFor(client, 'j')).code, 'forbidden');
  });
});

describe('presence counts distinct users as well as connections', () => {
  it('across instances, as users open and close connections', async () => {
    const room = 'crowd';
    const joinAs = async (instance: Instance, sub: string) => {
      const client = await open(instance, await hsToken({ sub, name: sub }));
      client.send({ type: 'join', room, name: sub });
      return client.next<JoinedFrame>((f) => f.type === 'joined', `${sub} joined`).then((joined) => ({ client, joined }));
    };
    const watcher = await joinAs(hs, 'u-watch');
    const seen = (members: number, users: number, what: string) =>
      watcher.client.next<PresenceFrame>((f) => f.type === 'presence' && f.members === members && f.users === users, what, 15_000);
    const ann1 = await joinAs(hs, 'u-ann');
    const ann2 = await joinAs(hs2, 'u-ann');
    const ann3 = await joinAs(hs2, 'u-ann');
    await seen(4, 2, 'four connections of two users');
    const bob = await joinAs(hs2, 'u-bob');
    assert.deepEqual([bob.joined.members, bob.joined.users], [5, 3], 'joined carries both counts');
    await seen(5, 3, 'Bob arrives');
    ann2.client.close();
    await seen(4, 3, 'one of Ann\'s connections closes: still three users');
    ann1.client.close();
    ann3.client.close();
    await seen(2, 2, 'Ann is gone from both instances');
  });

  it('forgets the users of an instance killed with -9', async () => {
    const room = 'crowd-killed';
    const joinAs = async (instance: Instance, sub: string) => {
      const client = await open(instance, await hsToken({ sub, name: sub }));
      client.send({ type: 'join', room, name: sub });
      await client.next((f) => f.type === 'joined', `${sub} joined`);
      return client;
    };
    const watcher = await joinAs(hs, 'u-watch');
    await joinAs(hs2, 'u-cat');
    await joinAs(hs2, 'u-dan');
    await joinAs(hs2, 'u-watch');
    await watcher.next<PresenceFrame>((f) => f.type === 'presence' && f.members === 4 && f.users === 3, 'four connections of three users', 15_000);
    hs2.kill();
    // Found silent after PRESENCE_TTL_MS by the survivor's heartbeat, which removes its counts and users.
    await watcher.next<PresenceFrame>((f) => f.type === 'presence' && f.members === 1 && f.users === 1, 'only the watcher left', 40_000);
  });
});

describe('token lifetime', () => {
  it('asks for a new token before expiry, takes a refresh for the same user, and closes with 4001 without one', async () => {
    const exp = Math.floor(Date.now() / 1000) + 4;
    const kept = await open(hs, await hsToken({ sub: 'u-kim', exp }));
    const lapsed = await open(hs, await hsToken({ sub: 'u-lee', exp }));
    const asked = await kept.next<{ type: 'token_expiring'; closesAt: number }>((f) => f.type === 'token_expiring', 'token_expiring', 10_000);
    assert.equal(asked.closesAt, exp * 1000 + 1000, 'exp plus the clock skew');
    await lapsed.next((f) => f.type === 'token_expiring', 'token_expiring', 10_000);

    kept.send({ type: 'refresh', token: await hsToken({ sub: 'u-kim', name: 'Kim 2' }), ref: 'r1' });
    const refreshed = await kept.next<{ type: 'refreshed'; closesAt: number; ref: string }>((f) => f.type === 'refreshed', 'refreshed');
    assert.equal(refreshed.ref, 'r1');
    assert.ok(refreshed.closesAt > Date.now() + 3_000_000);

    // Another user's token does not take over a connection, nor does a bad one.
    lapsed.send({ type: 'refresh', token: await hsToken({ sub: 'u-kim' }), ref: 'r2' });
    const other = await errorFor(lapsed, 'r2');
    assert.equal(other.code, 'forbidden');
    assert.match(other.message, /another user/);
    lapsed.send({ type: 'refresh', token: await hsToken({ sub: 'u-lee', iss: 'https://elsewhere.test' }), ref: 'r3' });
    const bad = await errorFor(lapsed, 'r3');
    assert.equal(bad.code, 'bad_token');
    assert.match(bad.message, /wrong issuer/);

    const closed = await lapsed.closed;
    assert.deepEqual(closed, { code: 4001, reason: 'token expired' });
    // The refreshed connection outlives the first token and speaks with the new name.
    kept.send({ type: 'join', room: 'after-refresh', name: 'x' });
    await kept.next((f) => f.type === 'joined', 'joined after the first token ran out');
    kept.send({ type: 'send', room: 'after-refresh', text: 'still here', ref: 'm' });
    const message = await kept.next<MessageFrame>((f) => f.type === 'message' && f.ref === 'm', 'message');
    assert.equal(message.name, 'Kim 2');
  });
});

describe('keys from a JWKS URL', () => {
  it('verifies with cached keys, follows a rotation, and refuses keys no longer published', async () => {
    const tokenA = await sign({ sub: 'u-rsa' }, { alg: 'RS256', kid: keyA.kid }, keyA.privateKey);
    for (let i = 0; i < 3; i++) await open(rs, tokenA);
    assert.equal(jwks.fetches, 1, 'the key set is fetched once and cached');

    jwks.keys = [keyB.publicJwk];
    const tokenB = await sign({ sub: 'u-rsa' }, { alg: 'RS256', kid: keyB.kid }, keyB.privateKey);
    // An unknown key id fetches the set again, at most once per cooldown.
    await eventually(async () => {
      const tried = await open(rs, tokenB).then(() => true, () => false);
      return tried;
    }, 'a token of the rotated key is accepted', 20_000, 500);
    assert.ok(jwks.fetches >= 2 && jwks.fetches <= 6, `fetches bounded by the cooldown: ${jwks.fetches}`);
    const { status, body } = await refusal(wsUrl(rs), await sign({ sub: 'u-rsa' }, { alg: 'RS256', kid: keyA.kid }, keyA.privateKey));
    assert.equal(status, 401);
    assert.match(body, /key id is not in the key set/);
  });

  it('answers 503, not 401, while the key set cannot be fetched', async () => {
    await jwks.close();
    const keyC = await rsaKey('key-c');
    const token = await sign({ sub: 'u-rsa' }, { alg: 'RS256', kid: keyC.kid }, keyC.privateKey);
    let last = { status: 0, body: '' };
    // Within the refetch cooldown the unknown key id is a plain 401; after it, the fetch fails.
    await eventually(async () => (last = await refusal(wsUrl(rs), token)).status === 503, 'a 503 once the key set is fetched again', 20_000, 500);
    assert.match(last.body, /key set could not be fetched/);
  });
});
