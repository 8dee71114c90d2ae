// The fast subset of the fault scenarios (npm run chaos runs them all):
// rolling restart and kill -9 under load lose and duplicate nothing, and bad
// frames under load disturb nobody.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { badFrames, killInstance, rollingRestart } from '../../chaos/scenarios.js';
import type { Verdict } from '../../chaos/traffic.js';

/** Graceful faults (a drain, bad frames beside the traffic): every send is stored or refused, none vanishes. */
function assertAccounted(verdict: Verdict): void {
  assert.equal(verdict.sent, verdict.sentStored + verdict.refused + verdict.vanished);
  assert.equal(verdict.vanished, 0, 'sent = stored + refused: no send vanished without an answer');
  assert.equal(verdict.refusedButStored, 0, 'no refused send was stored');
}

function assertClean(verdict: Verdict | undefined, allowErrors = false): void {
  assert.ok(verdict);
  assert.ok(verdict.stored > 100, `enough traffic to mean something (${verdict.stored} stored)`);
  assert.equal(verdict.lost, 0, 'no stored message missing at any member');
  assert.equal(verdict.duplicated, 0, 'no member got a message twice');
  assert.equal(verdict.outOfOrder, 0);
  assert.equal(verdict.ackedNotStored, 0, 'every acknowledgement is backed by the stream');
  assert.equal(verdict.storedTwice, 0, 'no send stored under two ids');
  if (!allowErrors) assert.deepEqual(verdict.errorFrames, {}, 'no client error beyond reconnects');
}

describe('faults under load', () => {
  it('rolling restart of every instance (SIGTERM, drain): nothing lost or duplicated', async () => {
    const figures = await rollingRestart();
    assertClean(figures.verdict);
    assertAccounted(figures.verdict!);
    assert.deepEqual(figures.exitCodes, [0, 0, 0], 'each instance drained and exited 0');
    assert.ok(figures.verdict!.reconnects > 0, 'clients did have to reconnect');
  });

  it('kill -9 of one instance: its clients recover every message and presence heals within 30 s', async () => {
    const figures = await killInstance();
    assertClean(figures.verdict);
    assert.ok((figures.clientsOnVictim as number) > 0, 'the victim had clients');
    assert.ok((figures.presenceRightMs as number) <= 30_000, `presence right after ${figures.presenceRightMs} ms`);
  });

  it('oversized, invalid UTF-8, binary and malformed frames under load: error frames, 1009, no harm to others', async () => {
    const figures = await badFrames();
    assertClean(figures.verdict);
    assertAccounted(figures.verdict!);
    assert.deepEqual(figures.closeCodes, [1009], 'only the oversized frame closes, and with 1009');
    assert.equal(figures.errorFrames, 30, 'an error frame for each of the three bad frames on ten connections');
    assert.deepEqual(figures.errorCodes, ['bad_request', 'bad_json']);
  });
});
