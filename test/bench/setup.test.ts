// Where the bench runs what: on 4 or more cores the servers and the driver
// processes are pinned apart, and pinning reaches every thread of a process.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { coreLayout } from '../../bench/setup.js';
import { pin } from '../../bench/systems.js';

it('keeps the driver apart from the servers on 4 or more cores, and says so', () => {
  assert.deepEqual({ ...coreLayout(8), description: undefined }, { cores: 8, servers: '0-3', drivers: '4-7', description: undefined });
  assert.match(coreLayout(8).description, /servers and Redis pinned to 0-3, driver processes to 4-7/);
  assert.deepEqual([coreLayout(5).servers, coreLayout(5).drivers], ['0-1', '2-4']);
  const shared = coreLayout(2);
  assert.equal(shared.servers, undefined);
  assert.equal(shared.drivers, undefined);
  assert.match(shared.description, /2 cores shared/);
});

it('pins every thread of a running process to the given cores', async () => {
  // Node's worker threads exist once it runs the script.
  const child = spawn(process.execPath, ['-e', 'console.log("up"); setTimeout(() => {}, 10000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise((resolve) => child.stdout.once('data', resolve));
    pin(child.pid!, '0');
    const threads = readdirSync(`/proc/${child.pid}/task`);
    assert.ok(threads.length > 1, 'node runs several threads');
    for (const tid of threads) assert.match(readFileSync(`/proc/${child.pid}/task/${tid}/status`, 'utf8'), /Cpus_allowed_list:\s+0\n/, `thread ${tid}`);
  } finally {
    child.kill();
  }
});
