// Cross-instance delivery, order, replay and presence, against a real
// redis-server and three real instances started as child processes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { connect, eventually, joinAs, sleep, type TestClient } from '../helpers/wsClient.js';
import type { JoinedFrame, MessageFrame, PresenceFrame } from '../../service/src/protocol/frames.js';
import { compareIds } from '../../service/src/protocol/ids.js';

let redis: RedisServer;
let instances: Instance[] = [];
const clients: TestClient[] = [];
const wsUrl = (instance: Instance) => `${instance.url.replace('http', 'ws')}/ws`;

async function member(instance: Instance, room: string, name: string, since?: string): Promise<TestClient> {
  const client = await joinAs(wsUrl(instance), room, name, since);
  clients.push(client);
  return client;
}

before(async () => {
  redis = await startRedis();
  const env = { DRAIN_SECONDS: '1', HISTORY_LIMIT: '200', JOIN_HISTORY: '5', RATE_LIMIT: '1000' };
  instances = await Promise.all(['a', 'b', 'c'].map((id) => startInstance({ instanceId: id, redisUrl: redis.url, env })));
});

after(async () => {
  for (const client of clients) client.ws.terminate();
  await Promise.allSettled(instances.map((instance) => instance.stop('SIGKILL')));
  await redis?.stop();
});

describe('delivery across instances', () => {
  it('gives every member every message, whichever instance each is on', async () => {
    const room = 'cross';
    const members = await Promise.all(instances.map((instance, i) => member(instance, room, `m${i}`)));
    assert.deepEqual(members.map((m) => m.hello.instance), ['a', 'b', 'c']);
    members.forEach((m, i) => m.send({ type: 'send', room, text: `hello from ${i}`, ref: `r${i}` }));
    for (const m of members) await eventually(() => m.messages(room).length === 3, 'three messages each');
    for (const [i, m] of members.entries()) {
      const got = m.messages(room);
      assert.deepEqual(got.map((x) => x.text).sort(), ['hello from 0', 'hello from 1', 'hello from 2']);
      for (const message of got) {
        const sender = Number(message.text.slice(-1));
        assert.equal(message.origin, instances[sender].id, 'origin is the accepting instance');
        assert.equal(message.name, `m${sender}`);
        assert.ok(Math.abs(message.ts - Date.now()) < 10_000);
        // Only the sender's own copy carries its ref: that copy is the acknowledgement.
        assert.equal(message.ref, sender === i ? `r${i}` : undefined);
      }
    }
    const ids = members.map((m) => m.messages(room).map((x) => x.id));
    assert.deepEqual(ids[1], ids[0]);
    assert.deepEqual(ids[2], ids[0]);
  });

  it('keeps per-room order for concurrent senders on different instances', async () => {
    const room = 'order';
    const members = await Promise.all(instances.map((instance, i) => member(instance, room, `s${i}`)));
    const perSender = 60;
    for (let n = 0; n < perSender; n++) members.forEach((m, i) => m.send({ type: 'send', room, text: `${i}:${n}` }));
    const total = perSender * members.length;
    for (const m of members) await eventually(() => m.messages(room).length >= total, `${total} messages`, 20_000);
    await sleep(200);
    const reference = members[0].messages(room).map((x) => x.id);
    assert.equal(reference.length, total, 'no duplicates');
    for (let i = 1; i < reference.length; i++) assert.ok(compareIds(reference[i - 1], reference[i]) < 0, 'ids increase');
    for (const m of members) {
      const got = m.messages(room);
      assert.deepEqual(got.map((x) => x.id), reference, 'same order everywhere');
      // Each sender's own messages stay in the order it sent them.
      for (let i = 0; i < members.length; i++) {
        const seq = got.filter((x) => x.text.startsWith(`${i}:`)).map((x) => Number(x.text.split(':')[1]));
        assert.deepEqual(seq, [...Array(perSender).keys()]);
      }
    }
  });

  it('replays with since on another instance without gap or duplicate while messages keep flowing', async () => {
    const room = 'replay';
    const writer = await member(instances[0], room, 'writer');
    let sent = 0;
    let writing = true;
    const pump = (async () => {
      while (writing) {
        writer.send({ type: 'send', room, text: `w${sent++}` });
        await sleep(5);
      }
    })();
    const seen: string[] = [];
    for (let round = 0; round < 6; round++) {
      const since = seen.at(-1);
      const reader = await member(instances[(round % 2) + 1], room, 'reader', since);
      const joined = reader.frames.find((f): f is JoinedFrame => f.type === 'joined')!;
      assert.equal(joined.recovered, true);
      await sleep(60 + round * 15);
      seen.push(...reader.messages(room).map((m) => m.id));
      reader.ws.terminate();
    }
    writing = false;
    await pump;
    const client = new Redis(redis.url);
    try {
      const stored = (await client.xrange(`chat:{${room}}:history`, '-', '+')).map(([id]) => id);
      // The first reader joined without since and got the last JOIN_HISTORY messages.
      const start = stored.indexOf(seen[0]);
      assert.ok(start >= 0, 'first id is in the stream');
      assert.deepEqual(seen, stored.slice(start, start + seen.length), 'exactly the stream, in order');
      assert.equal(new Set(seen).size, seen.length, 'no duplicate');
      assert.ok(seen.length > 20, `enough traffic to be meaningful (${seen.length})`);
    } finally {
      client.disconnect();
    }
  });

  it('replays the last JOIN_HISTORY messages on a join without since, and says when since is too old', async () => {
    const room = 'history';
    const writer = await member(instances[0], room, 'w');
    for (let n = 0; n < 210; n++) writer.send({ type: 'send', room, text: `h${n}` });
    await eventually(() => writer.messages(room).length === 210, 'all acknowledged', 15_000);
    const ids = writer.messages(room).map((m) => m.id);

    const fresh = await member(instances[1], room, 'fresh');
    await eventually(() => fresh.messages(room).length === 5, 'five replayed');
    assert.deepEqual(fresh.messages(room).map((m) => m.text), ['h205', 'h206', 'h207', 'h208', 'h209']);

    // HISTORY_LIMIT is 200: the first 10 are gone, so a since before them cannot be recovered.
    const late = await member(instances[2], room, 'late', ids[0]);
    assert.equal(late.frames.find((f): f is JoinedFrame => f.type === 'joined')!.recovered, false);
    await eventually(() => late.messages(room).length === 200, 'what is kept');
    assert.equal(late.messages(room)[0].text, 'h10');

    const recent = await member(instances[2], room, 'recent', ids[150]);
    assert.equal(recent.frames.find((f): f is JoinedFrame => f.type === 'joined')!.recovered, true);
    await eventually(() => recent.messages(room).length === 59, 'messages after since');
    assert.equal(recent.messages(room)[0].text, 'h151');
  });

  it('counts presence across instances and announces changes', async () => {
    const room = 'presence';
    const first = await member(instances[0], room, 'p0');
    assert.equal(first.frames.find((f): f is JoinedFrame => f.type === 'joined')!.members, 1);
    const second = await member(instances[1], room, 'p1');
    assert.equal(second.frames.find((f): f is JoinedFrame => f.type === 'joined')!.members, 2);
    await first.next<PresenceFrame>((f) => f.type === 'presence' && f.members === 2, 'presence 2 on the first instance');
    const third = await member(instances[1], room, 'p2');
    await first.next((f) => f.type === 'presence' && f.members === 3, 'presence 3');
    third.send({ type: 'leave', room });
    await third.next((f) => f.type === 'left' && f.room === room, 'left');
    await first.next((f) => f.type === 'presence' && f.members === 2, 'presence back to 2 after leave');
    second.ws.terminate();
    await first.next((f) => f.type === 'presence' && f.members === 1, 'presence 1 after disconnect');
  });
});

describe('an instance killed with -9', () => {
  it('leaves no ghost members 30 s later, and the others keep delivering', async () => {
    const room = 'ghosts';
    const victim = await startInstance({ instanceId: 'victim', redisUrl: redis.url, env: { DRAIN_SECONDS: '1' } });
    instances.push(victim);
    const watcher = await member(instances[0], room, 'watch');
    await member(victim, room, 'g1');
    await member(victim, room, 'g2');
    await watcher.next((f) => f.type === 'presence' && f.members === 3, 'presence 3');
    const killedAt = Date.now();
    victim.kill();
    await watcher.next((f) => f.type === 'presence' && f.members === 1, 'ghosts expire', 30_000);
    const took = Date.now() - killedAt;
    assert.ok(took <= 30_000, `ghosts gone after ${took} ms`);
    const other = await member(instances[1], room, 'other');
    other.send({ type: 'send', room, text: 'still here' });
    await watcher.next<MessageFrame>((f) => f.type === 'message' && f.text === 'still here', 'delivery after the kill');
  });
});
