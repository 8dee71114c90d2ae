// The bench's workloads through its driver processes, against each real
// system: every message sent in a window is delivered and counted, the
// drivers' CPU is measured, and a fixed rate measured with idle rooms in place
// sends from the clients of that window (the service refuses a send from a
// connection outside the room, so a sender mixed up with an idle member loses
// everything).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { withSetup } from '../../bench/setup.js';
import { ROOMS_OF_20, fixedRates, idleConnections, idleRooms } from '../../bench/workloads.js';
import type { SystemName } from '../../bench/systems.js';

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
