// Free ports for tests: outside the range the kernel hands to outgoing
// connections, never the same one twice in a process, and a taken one refused
// with the flag that chose it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { assertPortFree, freePort, freePortBlock } from '../../scripts/local/ports.js';

const [ephemeralLow, ephemeralHigh] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

describe('ports', () => {
  it('hands out free ports outside the ephemeral range, distinct even when asked side by side', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    assert.equal(new Set(ports).size, ports.length);
    for (const port of ports) {
      assert.ok(port < ephemeralLow || port > ephemeralHigh, `${port} outside ${ephemeralLow}-${ephemeralHigh}`);
      await assertPortFree(port, 'handed out');
    }
  });

  it('skips a taken port', async () => {
    // The next port this process would hand out, taken by someone else first.
    const probe = await freePort();
    const taken = probe + 1;
    const blocker = createServer().listen(taken, '127.0.0.1');
    await new Promise((resolve, reject) => blocker.once('listening', resolve).once('error', reject));
    try {
      const port = await freePort();
      assert.notEqual(port, taken);
      await assertPortFree(port, 'handed out');
    } finally {
      blocker.close();
    }
  });

  it('finds a block of consecutive free ports', async () => {
    const base = await freePortBlock(5);
    for (let i = 0; i < 5; i++) await assertPortFree(base + i, `block port ${i}`);
  });

  it('refuses a taken port, naming what it was for', async () => {
    const port = await freePort();
    const blocker = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve, reject) => blocker.once('listening', resolve).once('error', reject));
    try {
      await assert.rejects(assertPortFree(port, '--https-port'), {
        message: `port ${port} (--https-port) is already in use on 127.0.0.1; stop what uses it or choose another port`,
      });
    } finally {
      blocker.close();
    }
  });
});
