// A sharded Redis (REDIS_MODE=cluster, 3 primaries with a replica each) under
// traffic: a planned failover, a kill -9 of a primary and a slot migration of
// the busy room lose and duplicate nothing by the XRANGE verdict, and the rooms
// on the other shards keep flowing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shardFault, type ShardFault } from '../../chaos/clusterScenarios.js';

describe('sharded Redis faults under load', () => {
  for (const fault of ['failover', 'kill-primary', 'reshard'] as ShardFault[]) {
    it(`${fault}: nothing lost, duplicated or out of order; the other shards' rooms keep flowing`, async () => {
      const figures = await shardFault(fault);
      console.log(JSON.stringify(figures));
      const verdict = figures.verdict!;
      assert.ok(verdict.stored > 100, `enough traffic to mean something (${verdict.stored} stored)`);
      assert.equal(verdict.lost, 0, 'no stored message missing at any member');
      assert.equal(verdict.duplicated, 0, 'no member got a message twice');
      assert.equal(verdict.outOfOrder, 0);
      assert.equal(verdict.storedTwice, 0, 'no send stored under two ids');
      assert.equal(verdict.ackedNotStored, 0, 'every acknowledgement is backed by the stream');
      // Sends to the shard while it has no primary are answered `unavailable` (and not stored).
      for (const code of Object.keys(verdict.errorFrames)) assert.equal(code, 'unavailable');
      if (fault !== 'reshard') assert.notEqual(figures.primaryAfter, figures.primaryBefore, 'the busy room moved to another primary');
      assert.ok((figures.otherRoomsSilenceMs as number) < 1000, `rooms on other shards kept receiving (longest silence ${figures.otherRoomsSilenceMs} ms)`);
    });
  }
});
