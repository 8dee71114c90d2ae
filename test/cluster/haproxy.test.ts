// HAProxy's admin socket is bound apart from its listeners: startHaproxy must
// not return before it answers, or the first `show stat` (the cluster's
// readiness wait, the bench's) fails with ENOENT.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeSelfSignedCert } from '../../scripts/local/cert.js';
import { startHaproxy, type Haproxy } from '../../scripts/local/haproxy.js';
import { freePort } from '../../scripts/local/ports.js';

test('the admin socket answers as soon as startHaproxy returns', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-start-'));
  const certPath = makeSelfSignedCert(dir);
  let haproxy: Haproxy | undefined;
  try {
    for (let round = 0; round < 10; round++) {
      haproxy = await startHaproxy({
        stateDir: dir,
        httpsPort: await freePort(),
        httpPort: await freePort(),
        certPath,
        backends: [{ name: 'local-1', port: await freePort() }],
        statsSocket: join(dir, `haproxy-${round}.sock`),
      });
      const status = await haproxy.serverStatus();
      assert.deepEqual(Object.keys(status), ['local-1'], `round ${round}`);
      await haproxy.stop();
      haproxy = undefined;
    }
  } finally {
    await haproxy?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
