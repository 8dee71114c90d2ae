// The cache user's rules (SERVICE_ACCESS_STRING, the access string the stack
// gives the service's ElastiCache user) are enough for everything the service
// does and no more. A real redis-server gets an ACL user with exactly those
// rules; instances connect as that user and chat across instances, replay with
// since, count presence, survive a flushed script cache and a cut connection,
// reap a killed instance and drain; Redis must refuse none of it (ACL LOG,
// rejected calls, instance logs). Commands and names outside the rules are refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { SERVICE_ACCESS_STRING, SERVICE_COMMANDS } from '../../stacks/cache.js';
import type { JoinedFrame, MessageFrame } from '../../service/src/protocol/frames.js';
import { eventually, joinAs, type TestClient } from '../helpers/wsClient.js';

const ADMIN_PASSWORD = 'admin-password';
const USER = 'chat-test-service';
const USER_PASSWORD = 'service-password';

let redis: RedisServer;
let admin: Redis;
let service: Redis;
const instances: Instance[] = [];
const clients: TestClient[] = [];

const serviceUrl = (port: number) => `redis://${USER}:${USER_PASSWORD}@127.0.0.1:${port}`;
const wsUrl = (instance: Instance) => `${instance.url.replace('http', 'ws')}/ws`;
async function member(instance: Instance, room: string, name: string, since?: string): Promise<TestClient> {
  const client = await joinAs(wsUrl(instance), room, name, since);
  clients.push(client);
  return client;
}
async function instance(id: string): Promise<Instance> {
  const started = await startInstance({ instanceId: id, redisUrl: serviceUrl(redis.port), env: { DRAIN_SECONDS: '1', HISTORY_LIMIT: '50', JOIN_HISTORY: '3', HISTORY_TTL: '3600' } });
  instances.push(started);
  return started;
}

/** Calls Redis refused, per command, from INFO commandstats (Redis 7: rejected_calls). */
async function commandStats(): Promise<Map<string, { calls: number; rejected: number }>> {
  const info = (await admin.info('commandstats')) as string;
  const stats = new Map<string, { calls: number; rejected: number }>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+).*rejected_calls=(\d+)/gm)) stats.set(match[1], { calls: Number(match[2]), rejected: Number(match[3]) });
  return stats;
}

before(async () => {
  redis = await startRedis({ password: ADMIN_PASSWORD });
  admin = new Redis({ host: '127.0.0.1', port: redis.port, password: ADMIN_PASSWORD });
  // Exactly the stack's rules, plus the password redis-server needs where ElastiCache checks an IAM token.
  await admin.call('ACL', 'SETUSER', USER, 'reset', `>${USER_PASSWORD}`, ...SERVICE_ACCESS_STRING.split(' '));
  await admin.config('RESETSTAT');
  await admin.call('ACL', 'LOG', 'RESET');
  service = new Redis({ host: '127.0.0.1', port: redis.port, username: USER, password: USER_PASSWORD, maxRetriesPerRequest: 0 });
});

after(async () => {
  for (const client of clients) client.ws.terminate();
  await Promise.allSettled(instances.map((i) => i.stop('SIGKILL')));
  service?.disconnect();
  admin?.disconnect();
  await redis?.stop();
});

describe('the service as the cache user with SERVICE_ACCESS_STRING', () => {
  test('the rules name the chat keys and channels and single commands, no category', () => {
    const rules = SERVICE_ACCESS_STRING.split(' ');
    assert.deepEqual(rules.slice(0, 4), ['on', '~chat:*', '&chat:*', '-@all']);
    assert.ok(rules.slice(4).every((rule) => /^\+[a-z]+(\|[a-z]+)?$/.test(rule)), 'commands only, no +@category');
  });

  test('chat across instances, replay with since, presence, script cache loss, reconnect, kill -9 and drain: nothing refused', async () => {
    const [a, b] = [await instance('a'), await instance('b')];
    const room = 'acl';
    const alice = await member(a, room, 'alice');
    const bob = await member(b, room, 'bob');
    await alice.next((f) => f.type === 'presence' && f.members === 2, 'presence 2 across instances');

    for (let n = 0; n < 60; n++) (n % 2 ? alice : bob).send({ type: 'send', room, text: `m${n}`, ref: `r${n}` });
    for (const c of [alice, bob]) await eventually(() => c.messages(room).length === 60, 'every message on both instances', 15_000);
    const ids = alice.messages(room).map((m) => m.id);
    assert.deepEqual(bob.messages(room).map((m) => m.id), ids);

    // A resend with the same ref is not stored twice (the dedupe key).
    const acks = () => alice.messages(room).filter((m) => m.ref === 'r59');
    alice.send({ type: 'send', room, text: 'm59', ref: 'r59' });
    await eventually(() => acks().length === 2, 'the resend acknowledged');
    assert.equal(acks()[1].id, acks()[0].id, 'with the stored copy');

    // Join with since on the other instance: exactly what came after; and a since trimmed away (HISTORY_LIMIT 50).
    const recent = await member(a, room, 'recent', ids[49]);
    assert.equal(recent.frames.find((f): f is JoinedFrame => f.type === 'joined')!.recovered, true);
    await eventually(() => recent.messages(room).length === 10, 'ten after since');
    const old = await member(b, room, 'old', ids[0]);
    assert.equal(old.frames.find((f): f is JoinedFrame => f.type === 'joined')!.recovered, false);

    // Redis lost its scripts (restart, failover): ioredis falls back from EVALSHA to EVAL.
    await admin.script('FLUSH');
    alice.send({ type: 'send', room, text: 'after flush' });
    await bob.next<MessageFrame>((f) => f.type === 'message' && f.text === 'after flush', 'delivery after SCRIPT FLUSH');

    // Connections cut: both instances reconnect and resubscribe as the user.
    // Ready again only counts once every connection is a new one: an instance
    // that has not yet seen its socket close still answers /readyz with 200.
    const userClients = async () => [...String(await admin.call('CLIENT', 'LIST')).matchAll(/^id=(\d+) .* user=(\S+)/gm)].filter((m) => m[2] === USER).map((m) => Number(m[1]));
    const before = await userClients();
    await admin.call('CLIENT', 'KILL', 'USER', USER);
    await eventually(async () => {
      const now = await userClients();
      return now.length === before.length && now.every((id) => id > Math.max(...before));
    }, 'every connection made again', 20_000);
    await eventually(async () => (await fetch(`${a.url}/readyz`)).status === 200 && (await fetch(`${b.url}/readyz`)).status === 200, 'ready again', 20_000);
    bob.send({ type: 'send', room, text: 'after reconnect' });
    await alice.next<MessageFrame>((f) => f.type === 'message' && f.text === 'after reconnect', 'delivery after reconnect', 20_000);

    // A killed instance is reaped by the other's heartbeat; a stopped one drains and quits.
    const victim = await instance('victim');
    await member(victim, room, 'ghost');
    await alice.next((f) => f.type === 'presence' && f.members === 5, 'presence 5');
    victim.kill();
    await alice.next((f) => f.type === 'presence' && f.members === 4, 'the killed instance reaped', 40_000);
    assert.equal(await b.stop('SIGTERM'), 0);

    const refusals = (await admin.call('ACL', 'LOG')) as unknown[];
    assert.deepEqual(refusals, [], 'ACL LOG');
    const stats = await commandStats();
    assert.deepEqual([...stats].filter(([, s]) => s.rejected > 0), [], 'no rejected calls');
    for (const i of instances) assert.deepEqual(i.logs.filter((line) => /NOPERM|NOAUTH|WRONGPASS/.test(line)), [], `instance ${i.id} logs`);

    // The run used the rules: each granted command of a single Redis ran (cluster mode's run in the cluster tests).
    const single = Object.entries(SERVICE_COMMANDS).flatMap(([group, commands]) => (group === 'clusterMode' ? [] : commands));
    const unused = [...new Set(single)].filter((command) => !stats.get(command)?.calls);
    assert.deepEqual(unused, [], 'granted but never sent');
  });

  test('outside the rules: other commands, keys and channels are refused', async () => {
    for (const command of [['FLUSHALL'], ['KEYS', '*'], ['CONFIG', 'GET', 'maxmemory'], ['SCRIPT', 'FLUSH'], ['CLIENT', 'LIST'], ['HGETALL', 'chat:{acl}:history:meta'], ['ACL', 'WHOAMI']]) {
      await assert.rejects(service.call(command[0], ...command.slice(1)), /NOPERM/, command.join(' '));
    }
    await assert.rejects(service.get('other:key'), /NOPERM/, 'a key outside chat:*');
    await assert.rejects(service.publish('other-channel', 'x'), /NOPERM/, 'a channel outside chat:*');
    await assert.rejects(service.eval("return redis.call('GET', 'other:key')", 0), /NOPERM|can't access/, 'a script reaching outside chat:*');
    await assert.rejects(service.eval("return redis.call('FLUSHALL')", 0), /NOPERM|can't run this command/, 'a script running a refused command');
    assert.equal(await service.set('chat:probe', '1', 'PX', 1000), 'OK');
  });
});
