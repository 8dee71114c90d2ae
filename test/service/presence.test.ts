// Presence in Redis (presence/redisPresence.ts) against a real redis-server:
// the order of one instance's writes, whatever its first heartbeat does.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { defineChatScripts, type ChatRedis, type RedisCommandPort } from '../../service/src/bus/redis.js';
import { instanceKeys, keys } from '../../service/src/bus/keys.js';
import { RedisPresence } from '../../service/src/presence/redisPresence.js';
import { eventually, sleep } from '../helpers/wsClient.js';

let redis: RedisServer;
const clients: Redis[] = [];

before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  clients.push(admin);
});
after(async () => {
  for (const client of clients) client.disconnect();
  await redis?.stop();
});

interface PortOptions {
  /** Each heartbeat's answer is held for the next of these ms. */
  heartbeatDelays?: number[];
  /** Presence writes wait for this before they go out. */
  writeGate?: () => Promise<void>;
}

/** A command port on its own connection, with the answers and writes held as told. */
function port(options: PortOptions = {}): RedisCommandPort {
  const client = new Redis(redis.url);
  clients.push(client);
  defineChatScripts(client);
  const commands = client as unknown as ChatRedis;
  const held = new Proxy(commands, {
    get(target, property, receiver) {
      if (property === 'chatHeartbeat') {
        return async (...args: Parameters<ChatRedis['chatHeartbeat']>) => {
          const answer = await target.chatHeartbeat(...args);
          await sleep(options.heartbeatDelays?.shift() ?? 0);
          return answer;
        };
      }
      if (property === 'chatPresence' && options.writeGate) {
        return async (...args: Parameters<ChatRedis['chatPresence']>) => {
          await options.writeGate!();
          return target.chatPresence(...args);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return { commands: () => held };
}

/** A gate for a port's presence writes: open until hold(), then shut until release(). */
function writeHold() {
  let release!: () => void;
  const shut = new Promise<void>((resolve) => (release = resolve));
  let holding = false;
  return {
    gate: () => (holding ? shut : Promise.resolve()),
    hold: () => {
      holding = true;
    },
    release,
  };
}

let admin: Redis;
const total = async (room: string) => (await admin.hvals(keys.presence(room))).reduce((sum, count) => sum + Number(count), 0);
/** Makes every heartbeat entry of `instance` 20 s old: to the others it is silent past PRESENCE_TTL_MS. */
async function silence(instance: string): Promise<void> {
  const entries = await admin.zrange(instanceKeys.all, 0, -1);
  const old = Number((await admin.time())[0]) * 1000 - 20_000;
  for (const entry of entries.filter((name) => name.startsWith(instance))) await admin.zadd(instanceKeys.all, old, entry);
}

describe('presence writes of one instance', () => {
  it('land in the order they were made while the first heartbeat is under way', async () => {
    const label = `order-${Date.now()}`;
    // Two joins in other rooms start the instance's first heartbeats: the
    // second is answered late. A join in room r made meanwhile (1 member)
    // waits for it; a second join in r made after the first heartbeat came back
    // (2 members) must not land before it and be overwritten by the older count.
    const presence = new RedisPresence(port({ heartbeatDelays: [50, 400] }), `i-${label}`);
    const first = presence.update(`${label}-q`, 1);
    const older = presence.update(`${label}-r`, 1);
    await sleep(200);
    const newer = presence.update(`${label}-r`, 2);
    await Promise.all([first, older, newer]);
    assert.equal(await total(`${label}-r`), 2, 'the instance counts its 2 members');
    assert.equal((await admin.get(keys.presenceTotal(`${label}-r`)))?.split(':').slice(0, 2).join(':'), '2:2');
  });

  it('an instance taken for dead while it writes its counts again keeps them, and can still be reaped later', async () => {
    const label = `reap-${Date.now()}`;
    const room = `${label}-r`;
    const held = writeHold();
    const a = new RedisPresence(port(), `a-${label}`);
    const b = new RedisPresence(port({ writeGate: held.gate }), `b-${label}`);
    await a.update(room, 3);
    await b.update(room, 2);
    assert.equal(await total(room), 5);
    // a falls silent (a stall, a cut to Redis). b's heartbeat claims it and
    // starts removing its counts, but b's removal is slow to go out...
    await silence(`a-${label}`);
    held.hold();
    const reaping = b.heartbeat(() => [room]);
    await eventually(async () => !(await admin.zrange(instanceKeys.all, 0, -1)).some((name) => name.startsWith(`a-${label}`)), 'b claimed a');
    // ...meanwhile a is back: its heartbeat says to write its rooms again, and it does.
    const rewrite = [...(await a.heartbeat(() => [room]))];
    assert.deepEqual(rewrite, [room], 'a writes its rooms again');
    await a.update(room, 3);
    held.release();
    await reaping;
    assert.equal(await total(room), 5, "b's late removal leaves a's new counts alone");
    // a dies for good: its counts go with it, so nothing it wrote since was lost to b's removal either.
    await silence(`a-${label}`);
    await b.heartbeat(() => [room]);
    assert.equal(await total(room), 2, "a's counts removed when it is dead");
  });

  it("a write an instance made before it knew it was taken for dead leaves no ghost count", async () => {
    const label = `ghost-${Date.now()}`;
    const room = `${label}-r`;
    const held = writeHold();
    const a = new RedisPresence(port({ writeGate: held.gate }), `a-${label}`);
    const b = new RedisPresence(port(), `b-${label}`);
    await a.update(room, 3);
    await b.update(room, 2);
    // a stalls with a write of its count (now 4) on its way; b claims it and removes its counts.
    await silence(`a-${label}`);
    held.hold();
    const late = a.update(room, 4);
    await b.heartbeat(() => []);
    assert.equal(await total(room), 2);
    // The late write lands after the removal, then a's heartbeat finds it lapsed.
    held.release();
    await late;
    const rewrite = [...(await a.heartbeat(() => [room]))];
    for (const name of rewrite) await a.update(name, 4);
    assert.equal(await total(room), 6, 'a counted once, with its 4 members');
    await silence(`a-${label}`);
    await b.heartbeat(() => []);
    assert.equal(await total(room), 2, 'nothing of a left once it is dead');
  });
});
