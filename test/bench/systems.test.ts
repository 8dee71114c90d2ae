// The benchmark's systems: both chat servers deliver a room message across
// their two instances, directly and through HAProxy, so every figure the
// bench reports is about systems that actually work.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { startSystem, type SystemName } from '../../bench/systems.js';
import { isAlive } from '../../scripts/local/children.js';

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))]);

const cases: Array<[SystemName, boolean, 'none' | 'jwt']> = [
  ['service', false, 'none'],
  ['service', true, 'none'],
  ['socketio', false, 'none'],
  ['socketio', true, 'none'],
  // --auth jwt: every connection of the service carries a token.
  ['service', true, 'jwt'],
];
for (const [name, balancer, auth] of cases) {
  it(`${name}${balancer ? ' through HAProxy' : ''}${auth === 'jwt' ? ' with tokens' : ''}: a message reaches the room's members on both instances`, async () => {
    const system = await startSystem(name, { balancer, auth });
    try {
      assert.equal(system.urls.length, balancer ? 1 : 2);
      assert.equal(system.balancerPids.length, balancer ? 1 : 0);
      const received: string[][] = [[], [], []];
      // Direct: members alternate between the instances; through HAProxy, round robin does the same.
      const clients = [];
      for (let i = 0; i < 3; i++) clients.push(await system.connect(system.urls[i % system.urls.length], (text) => received[i].push(text)));
      await Promise.all(clients.map((c) => c.join('room')));
      await new Promise((resolve) => setTimeout(resolve, 200));
      clients[0].send('room', 'hello across');
      await within(
        (async () => {
          while (received.some((r) => r.length === 0)) await new Promise((resolve) => setTimeout(resolve, 20));
        })(),
        5000,
        'every member received the message',
      );
      assert.deepEqual(received, [['hello across'], ['hello across'], ['hello across']]);
      for (const client of clients) client.close();
    } finally {
      await system.stop();
    }
    for (const pid of [...system.pids, ...system.balancerPids]) assert.equal(isAlive(pid), false, `pid ${pid} stopped`);
  });
}
