// The bench's workloads through its driver processes, against each real
// system: every message sent in a window is delivered and counted, the
// drivers' CPU is measured, and a fixed rate measured with idle rooms in place
// sends from the clients of that window (the service refuses a send from a
// connection outside the room, so a sender mixed up with an idle member loses
// everything).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { withSetup } from '../../bench/setup.js';
import { ROOMS_OF_20, connectionStorm, fixedRates, idleConnections, idleRooms, place } from '../../bench/workloads.js';
import type { SystemName } from '../../bench/systems.js';
import { WebSocket } from 'ws';

/** 101 when the upgrade is accepted, else the HTTP status it was refused with. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (error) => reject(error));
  });
}

for (const name of ['service', 'socketio', 'centrifuge'] as SystemName[]) {
  it(`${name}: idle rooms are counted, then a fixed rate beside them delivers everything`, { timeout: 120_000 }, async () => {
    await withSetup(name, { drivers: 2 }, async (setup) => {
      const idle = await idleRooms(setup, 20, 8, 1);
      assert.deepEqual([idle.rooms, idle.memberships, idle.connections], [20, 30, 8]);
      assert.ok(idle.redisCommandsPerSecond >= 0 && Number.isFinite(idle.instanceCpuPercent));
      const [window] = await fixedRates(setup, ROOMS_OF_20, [2000], 1);
      assert.ok(window.sent > 0);
      assert.equal(window.deliveries, window.expected, `${window.lost} of ${window.expected} lost`);
      assert.ok(window.driverCpuMsPer1000 > 0, 'the drivers’ CPU is measured');
      assert.ok(window.instanceWritesPer1000 > 0 && window.instanceWritesPer1000 <= 2000, `${window.instanceWritesPer1000} instance writes per 1,000 deliveries`);
      assert.ok(window.p99Ms >= 0 && window.p99Ms < 5000, `p99 ${window.p99Ms} ms`);
      assert.ok(window.instanceWakeupsPer1000! > 0 && Number.isFinite(window.instanceWakeupsPer1000), `${window.instanceWakeupsPer1000} wake-ups per 1,000 deliveries`);
    });
  });
}

it('memory per idle joined connection forces a collection in every instance of each system', { timeout: 120_000 }, async () => {
  for (const name of ['service', 'centrifuge'] as SystemName[]) {
    const point = await withSetup(name, { inspect: true, drivers: 2 }, (setup) => idleConnections(setup, 200));
    assert.equal(point.connections, 200);
    assert.ok(Number.isFinite(point.heapBytesPerConnection) && point.heapBytesPerConnection > 0, `${name} heap ${point.heapBytesPerConnection}`);
    // RSS may or may not grow for 200 connections (a heap can have room); it is read, not guessed.
    assert.ok(Number.isFinite(point.rssDeltaBytes), `${name} RSS read`);
  }
});

it('room affinity puts every member of a room on one instance; alternating spreads each room over both', () => {
  const setup = { system: { urls: ['http://a', 'http://b'] }, drivers: { size: 3 } };
  const memberships = Array.from({ length: 60 }, (_, n) => [`room-${Math.floor(n / 20)}`]);
  const instancesOf = (placement: 'room' | 'alternate') => {
    const specs = place(setup, memberships, placement);
    assert.deepEqual(specs.map((list) => list.length), [20, 20, 20], 'clients spread over the drivers');
    const byRoom = new Map<string, Set<string>>();
    for (const spec of specs.flat()) (byRoom.get(spec.rooms[0]) ?? byRoom.set(spec.rooms[0], new Set()).get(spec.rooms[0])!).add(spec.url);
    return [...byRoom.entries()].map(([room, urls]) => [room, [...urls].sort()]);
  };
  assert.deepEqual(instancesOf('room'), [
    ['room-0', ['http://a']],
    ['room-1', ['http://b']],
    ['room-2', ['http://a']],
  ]);
  assert.ok(instancesOf('alternate').every(([, urls]) => urls.length === 2));
});

it('the service delivers everything with room affinity, and the window says how its members were placed', { timeout: 120_000 }, async () => {
  await withSetup('service', { drivers: 2 }, async (setup) => {
    const [window] = await fixedRates(setup, ROOMS_OF_20, [2000], 1, 'room');
    assert.equal(window.placement, 'room');
    assert.ok(window.sent > 0);
    assert.equal(window.deliveries, window.expected, `${window.lost} of ${window.expected} lost`);
  });
});

it('a connection storm opens and joins every client, with a token of its own each under AUTH_MODE=jwt', { timeout: 120_000 }, async () => {
  for (const auth of ['none', 'jwt'] as const) {
    await withSetup('service', { drivers: 2, auth }, async (setup) => {
      const point = await connectionStorm(setup, 300);
      assert.deepEqual([point.system, point.auth, point.connections, point.error], ['service', auth, 300, undefined]);
      assert.ok(point.connectionsPerSecond > 0 && point.serverCpuUsPerConnection > 0 && point.instanceCpuUsPerConnection > 0, JSON.stringify(point));
      assert.ok(point.serverCpuUsPerConnection >= point.instanceCpuUsPerConnection);
      // Without a token the same instance refuses the upgrade: the storm's clients were verified.
      const status = await upgradeStatus(`${setup.system.bareUrls[0].replace('http', 'ws')}/ws`);
      assert.equal(status, auth === 'jwt' ? 401 : 101);
    });
  }
});
