// The benchmark's systems: each chat server (the service, the Socket.IO peer,
// the Centrifuge peer) delivers a room message across its two instances,
// directly and through HAProxy, so every figure the bench reports is about
// systems that actually work; and none runs through a loader.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSystem, type SystemName } from '../../bench/systems.js';
import { isAlive } from '../../scripts/local/children.js';

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))]);

const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

for (const name of ['service', 'socketio', 'centrifuge'] as SystemName[]) {
  // --auth jwt: the service's clients connect with a token.
  for (const options of [{ balancer: false }, { balancer: true }, ...(name === 'service' ? [{ balancer: true, auth: 'jwt' as const }] : [])]) {
    const balancer = options.balancer;
    it(`${name}${balancer ? ' through HAProxy' : ''}${'auth' in options ? ' with tokens' : ''}: a message reaches the room's members on both instances`, async () => {
      const system = await startSystem(name, options);
      try {
        assert.equal(system.urls.length, balancer ? 1 : 2);
        assert.equal(system.balancerPids.length, balancer ? 1 : 0);
        for (const pid of system.instancePids) {
          const argv = commandLine(pid);
          assert.ok(!argv.some((arg) => /tsx|--import|--loader/.test(arg)), `${name} runs compiled, not through a loader: ${argv.join(' ')}`);
        }
        const received: string[][] = [[], [], []];
        // Direct: members alternate between the instances; through HAProxy, round robin does the same.
        const clients = [];
        for (let i = 0; i < 3; i++) clients.push(await system.connect(system.urls[i % system.urls.length], (text) => received[i].push(text)));
        await Promise.all(clients.map((c) => c.join('room')));
        await new Promise((resolve) => setTimeout(resolve, 200));
        clients[0].send('room', 'hello across');
        clients[1].send('room', 'and back');
        await within(
          (async () => {
            while (received.some((r) => r.length < 2)) await new Promise((resolve) => setTimeout(resolve, 20));
          })(),
          5000,
          'every member received both messages',
        );
        for (const r of received) assert.deepEqual([...r].sort(), ['and back', 'hello across']);
        for (const client of clients) client.close();
      } finally {
        await system.stop();
      }
      for (const pid of [...system.pids, ...system.balancerPids]) assert.equal(isAlive(pid), false, `pid ${pid} stopped`);
    });
  }
}
