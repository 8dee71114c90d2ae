// REDIS_AUTH=iam against a real redis-server over TLS with ACL users: the
// service's connections authenticate as the RBAC user with a signed token, every
// refresh re-authenticates the open connections and gives reconnects the new
// token, and once the old token is refused a reconnect still gets in. The ACL
// user's password is set to the token the signer produces for that instant
// (ElastiCache verifies the signature instead; redis-server compares strings).
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { ConfigError, loadConfig } from '../../service/src/config.js';
import { IAM_TOKEN_REFRESH_MS, IAM_TOKEN_TTL_SECONDS } from '../../service/src/constants.js';
import { IamAuthRotation, signAuthToken, type CredentialProvider } from '../../service/src/bus/redisCredentials.js';
import { eventually } from '../helpers/wsClient.js';
import { SERVICE_ACCESS_STRING } from '../../stacks/cache.js';

const settings = { user: 'chat-test-service', cacheName: 'chat-test', region: 'eu-west-1' };
const keys = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'IQoJb3JpZ2luX2VjE/session+token=' };
const credentials: CredentialProvider = async () => keys;
const T0 = new Date('2026-11-27T10:00:00Z');

/** SigV4 of a presigned GET, computed from the specification with node:crypto only. */
function expectedSignature(token: string): string {
  const url = new URL(`http://${token}`);
  const params = [...url.searchParams].filter(([k]) => k !== 'X-Amz-Signature');
  const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = params.map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).sort().join('&');
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${settings.cacheName}`, '', 'host', sha256('')].join('\n');
  const date = url.searchParams.get('X-Amz-Date')!;
  const scope = `${date.slice(0, 8)}/${settings.region}/elasticache/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha256(canonicalRequest)].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  let key = hmac(`AWS4${keys.secretAccessKey}`, date.slice(0, 8));
  for (const part of [settings.region, 'elasticache', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('IAM auth token', () => {
  test('a presigned connect request for the cache and user, valid for 15 minutes, signed per SigV4', async () => {
    const token = await signAuthToken(settings, credentials, T0);
    assert.ok(token.startsWith('chat-test/?'), token);
    const query = new URL(`http://${token}`).searchParams;
    assert.equal(query.get('Action'), 'connect');
    assert.equal(query.get('User'), settings.user);
    assert.equal(query.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
    assert.equal(query.get('X-Amz-Credential'), 'AKIDEXAMPLE/20261127/eu-west-1/elasticache/aws4_request');
    assert.equal(query.get('X-Amz-Date'), '20261127T100000Z');
    assert.equal(query.get('X-Amz-Expires'), String(IAM_TOKEN_TTL_SECONDS));
    assert.equal(query.get('X-Amz-Security-Token'), keys.sessionToken);
    assert.equal(query.get('X-Amz-SignedHeaders'), 'host');
    assert.equal(query.get('X-Amz-Signature'), expectedSignature(token));
  });

  test('a new token well before the old one expires', async () => {
    assert.ok(IAM_TOKEN_REFRESH_MS <= (IAM_TOKEN_TTL_SECONDS * 1000) * 2 / 3, 'reconnects always hold a token with a third of its life left');
    const later = await signAuthToken(settings, credentials, new Date(T0.getTime() + IAM_TOKEN_REFRESH_MS));
    assert.notEqual(later, await signAuthToken(settings, credentials, T0));
  });
});

describe('IAM auth rotation against redis-server ACL users', () => {
  let redis: RedisServer;
  let admin: Redis;
  const clients: Redis[] = [];
  let rotation: IamAuthRotation | undefined;
  const tls = () => ({ ca: readFileSync(redis.caPath!) });
  const client = () => {
    const c = new Redis({ host: '127.0.0.1', port: redis.port, tls: tls(), lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await startRedis({ tls: true, password: 'admin-password' });
    admin = new Redis({ host: '127.0.0.1', port: redis.port, tls: tls(), password: 'admin-password' });
  });
  after(async () => {
    rotation?.stop();
    for (const c of clients) c.disconnect();
    admin?.disconnect();
    await redis?.stop();
  });

  test('connects as the RBAC user, re-authenticates on refresh and reconnects with the fresh token', async () => {
    let now = T0;
    rotation = new IamAuthRotation(settings, { credentials, now: () => now, refreshMs: 3_600_000 });
    const first = await signAuthToken(settings, credentials, now);
    // The rules the stack gives the service's ElastiCache user.
    await admin.call('ACL', 'SETUSER', settings.user, 'resetpass', `>${first}`, ...SERVICE_ACCESS_STRING.split(' '));

    const commands = client();
    const subscriber = client();
    await rotation.attach([commands, subscriber]);
    assert.equal(commands.options.username, settings.user);
    assert.equal(commands.options.password, first);
    await Promise.all([commands.connect(), subscriber.connect()]);
    assert.equal(await connectedAs(admin, settings.user), 2);
    // The broker's subscriber connection is subscribed: RESP2 allows it no AUTH.
    await subscriber.subscribe('chat:{lobby}:live');
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, text: string) => heard.push(text));

    // Ten minutes on: a new token; during the overlap ElastiCache accepts both.
    now = new Date(T0.getTime() + IAM_TOKEN_REFRESH_MS);
    const second = await signAuthToken(settings, credentials, now);
    await admin.call('ACL', 'SETUSER', settings.user, `>${second}`);
    const authsBefore = await authCalls(admin);
    await rotation.refresh();
    assert.equal(commands.options.password, second);
    assert.equal(subscriber.options.password, second);
    assert.equal((await authCalls(admin)) - authsBefore, 1, 'the command connection sent AUTH with the new token');
    // The subscribed connection keeps its session (it takes the new token when it reconnects) and still hears.
    await commands.publish('chat:{lobby}:live', 'after refresh');
    await eventually(async () => heard.includes('after refresh'), 'the subscriber still hears after a refresh', 5_000);

    // The first token has expired: only the second one opens a connection now.
    await admin.call('ACL', 'SETUSER', settings.user, `<${first}`);
    const stale = new Redis({ host: '127.0.0.1', port: redis.port, tls: tls(), lazyConnect: true, username: settings.user, password: first, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    clients.push(stale);
    const refused = new Promise<unknown>((resolve) => stale.once('error', resolve));
    stale.connect().catch(() => undefined);
    assert.match(String(await refused), /WRONGPASS/);

    // Connections dropped (failover, ElastiCache's 12 hours): ioredis reconnects with the fresh token.
    const reconnects = { commands: 0, subscriber: 0 };
    commands.on('reconnecting', () => reconnects.commands++);
    subscriber.on('reconnecting', () => reconnects.subscriber++);
    await admin.call('CLIENT', 'KILL', 'USER', settings.user);
    await eventually(async () => reconnects.commands > 0 && reconnects.subscriber > 0 && commands.status === 'ready' && subscriber.status === 'ready', 'both clients reconnected', 15_000);
    assert.equal(await connectedAs(admin, settings.user), 2);
    const failures = (await admin.call('ACL', 'LOG')) as unknown[][];
    const wrongpassForService = failures.filter((entry) => entry.includes(settings.user) && entry.includes('auth'));
    assert.equal(wrongpassForService.length, 1, 'the only refused AUTH was the stale client above');
  });
});

/** Connections authenticated as the user (the service's rules do not include ACL WHOAMI, so the admin looks). */
async function connectedAs(admin: Redis, user: string): Promise<number> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((line) => line.includes(` user=${user} `)).length;
}

async function authCalls(admin: Redis): Promise<number> {
  const info = (await admin.info('commandstats')) as string;
  const match = /cmdstat_auth:calls=(\d+)/.exec(info);
  return match ? Number(match[1]) : 0;
}

describe('REDIS_AUTH configuration', () => {
  const base = { REDIS_URL: 'rediss://chat-dev-service@master.chat-dev.abc123.euw1.cache.amazonaws.com:6379', REDIS_AUTH: 'iam', REDIS_IAM_USER: 'chat-dev-service', REDIS_IAM_CACHE: 'chat-dev', AWS_REGION: 'eu-west-1' };

  test('iam: the user, the cache and the region', () => {
    assert.deepEqual(loadConfig(base).redisIamAuth, { user: 'chat-dev-service', cacheName: 'chat-dev', region: 'eu-west-1' });
    assert.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redisIamAuth, undefined);
  });

  for (const [name, env, variable] of [
    ['an unknown mode', { ...base, REDIS_AUTH: 'token' }, 'REDIS_AUTH'],
    ['a password in the URL', { ...base, REDIS_URL: 'rediss://:secret@host:6379' }, 'REDIS_URL'],
    ['plain redis://', { ...base, REDIS_URL: 'redis://chat-dev-service@host:6379' }, 'REDIS_URL'],
    ['no user', { ...base, REDIS_IAM_USER: '' }, 'REDIS_IAM_USER'],
    ['no cache', { ...base, REDIS_IAM_CACHE: undefined }, 'REDIS_IAM_CACHE'],
    ['no region', { ...base, AWS_REGION: 'Ireland' }, 'AWS_REGION'],
  ] as const) {
    test(`iam with ${name} fails at start naming ${variable}`, () => {
      assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && error.message.startsWith(`${variable} must be`));
    });
  }
});
