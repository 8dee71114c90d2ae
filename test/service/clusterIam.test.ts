// REDIS_AUTH=iam in cluster mode: the cluster broker hands the signed token to
// every connection it makes (each node's, the slot-map refresher's, each
// shard's subscriber), renews it on the open ones, and after every connection
// is dropped reconnects with the fresh token only. Against a real Redis
// Cluster of 3 primaries whose nodes know the service's ACL user, as
// ElastiCache's RBAC user group makes every node know it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startRedisCluster, type RedisCluster } from '../../scripts/local/redisCluster.js';
import { createRedisClusterBus } from '../../service/src/bus/redisCluster.js';
import { IamAuthRotation, signAuthToken, type CredentialProvider } from '../../service/src/bus/redisCredentials.js';
import type { BusEvent } from '../../service/src/bus/payload.js';
import type { Bus } from '../../service/src/bus/types.js';
import { IAM_TOKEN_REFRESH_MS } from '../../service/src/constants.js';
import { SERVICE_ACCESS_STRING } from '../../stacks/cache.js';
import { roomsOnEachShard } from '../helpers/redisCluster.js';
import { eventually } from '../helpers/wsClient.js';

const settings = { user: 'chat-test-service', cacheName: 'chat-test', region: 'eu-west-1' };
const credentials: CredentialProvider = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' });
const T0 = new Date('2026-11-27T10:00:00Z');

describe('IAM auth in cluster mode', () => {
  let redis: RedisCluster;
  let bus: Bus | undefined;
  let rotation: IamAuthRotation | undefined;

  before(async () => {
    redis = await startRedisCluster({ shards: 3 });
  });
  after(async () => {
    rotation?.stop();
    await bus?.broker.close();
    await redis?.stop();
  });

  const everyNode = (...args: Array<string | number>) => Promise.all(redis.ports.map((port) => redis.command(port, ...args)));

  test('connects every node and subscriber as the RBAC user, renews the token and reconnects with the fresh one', async () => {
    let now = T0;
    rotation = new IamAuthRotation(settings, { credentials, now: () => now, refreshMs: 3_600_000 });
    const first = await signAuthToken(settings, credentials, now);
    await everyNode('ACL', 'SETUSER', settings.user, 'resetpass', `>${first}`, ...SERVICE_ACCESS_STRING.split(' '));

    const events: Array<[string, BusEvent]> = [];
    bus = createRedisClusterBus({
      url: `redis://${settings.user}@127.0.0.1:${redis.ports[0]}`,
      instanceId: 'iam-1',
      historyLimit: 100,
      historyTtlMs: 0,
      logger: pino({ level: 'silent' }),
      onReconnect: () => undefined,
      onError: () => undefined,
      credentials: rotation,
    });
    await bus.broker.start({ event: (room, event) => events.push([room, event]), resumed: () => undefined, lost: () => undefined });
    await eventually(() => bus!.broker.ready, 'the broker is ready', 15_000);

    // A room on every shard: each shard's subscriber and each node's command connection authenticated.
    const rooms = (await roomsOnEachShard(redis, 1, 'iam')).flat();
    const send = async (tag: string) => {
      for (const room of rooms) await bus!.broker.publish({ room, framePrefix: '{"p":"', frameSuffix: `","t":"${tag}"}`, headerTail: '\tiam-1\t1\t\n' });
      await eventually(() => rooms.every((room) => events.some(([r, e]) => r === room && e.kind === 'message' && e.delivery.frame.includes(tag))), `${tag} heard in every room`, 15_000);
    };
    for (const room of rooms) await bus.broker.subscribe(room);
    await send('first');
    // The broker's connections by name (chat:iam-1, chat-sub:iam-1) and the user each authenticated as.
    const users = async () =>
      (await everyNode('CLIENT', 'LIST')).flatMap((list) => [...String(list).matchAll(/ name=(chat(?:-sub)?:iam-1) .* user=(\S+)/g)].map((m) => m[2]));
    assert.ok((await users()).length >= 6, 'a command and a subscriber connection per primary');
    assert.deepEqual([...new Set(await users())], [settings.user], 'all as the RBAC user');

    // A new token; during the overlap both are accepted, then the first expires.
    now = new Date(T0.getTime() + IAM_TOKEN_REFRESH_MS);
    const second = await signAuthToken(settings, credentials, now);
    await everyNode('ACL', 'SETUSER', settings.user, `>${second}`);
    await rotation.refresh();
    await everyNode('ACL', 'SETUSER', settings.user, `<${first}`);

    // Every connection dropped (a failover, ElastiCache's 12 hours): all come back with the fresh token.
    await everyNode('CLIENT', 'KILL', 'USER', settings.user);
    await eventually(async () => (await users()).length >= 6, 'every connection back', 20_000);
    assert.deepEqual([...new Set(await users())], [settings.user], 'all as the RBAC user');
    await send('second');
    const refused = (await everyNode('ACL', 'LOG')).flatMap((log) => log as unknown[][]).filter((entry) => entry.includes(settings.user) && entry.includes('auth'));
    assert.deepEqual(refused, [], 'no connection tried the expired token');
  });
});
