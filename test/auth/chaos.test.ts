// The fault harness with --auth jwt: a rolling restart under load, every
// client reconnecting with its token, loses and duplicates nothing.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { rollingRestart, useAuth } from '../../chaos/scenarios.js';

it('rolling restart of a jwt cluster: clients reconnect with their token, nothing lost or duplicated', async () => {
  useAuth('jwt');
  const figures = await rollingRestart();
  const verdict = figures.verdict!;
  assert.ok(verdict.stored > 100, `enough traffic to mean something (${verdict.stored} stored)`);
  assert.equal(verdict.lost, 0);
  assert.equal(verdict.duplicated, 0);
  assert.deepEqual(verdict.errorFrames, {}, 'no forbidden or other error frame');
  assert.deepEqual(figures.exitCodes, [0, 0, 0]);
  assert.ok(verdict.reconnects > 0, 'clients did have to reconnect');
});
