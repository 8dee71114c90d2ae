// The benchmark's own measuring code: CPU time read from /proc agrees with
// what the process itself reports, and percentiles are the nearest-rank ones.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpuMs, median, percentile, rssKb, wakeups, writeSyscalls } from '../../bench/measure.js';

it('reads a busy process’s CPU time from /proc in milliseconds', async () => {
  // A child that burns 500 ms of its own CPU time (however busy the machine is), then reports it.
  const burn = 'const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; while (used() < 500); console.log(used()); setTimeout(() => {}, 5000);';
  const child = spawn(process.execPath, ['-e', burn], { stdio: ['ignore', 'pipe', 'inherit'] });
  const reported = await new Promise<number>((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d)))));
  const measured = cpuMs(child.pid!);
  child.kill();
  assert.ok(reported >= 500, `the child burned ${reported} ms`);
  // /proc counts in clock ticks (10 ms) and includes the runtime's other threads.
  assert.ok(Math.abs(measured - reported) < 150, `/proc says ${measured} ms, the process ${reported} ms`);
  assert.ok(rssKb(process.pid) > 10_000);
});

it('takes nearest-rank percentiles', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 100), 100);
  assert.equal(median([3, 1, 2]), 2);
  assert.ok(Number.isNaN(percentile([], 50)));
});

it('counts a process’s write system calls from /proc', async () => {
  // A child that makes 200 writes of its own to /dev/null, then reports.
  const writes = "const fs = require('fs'); const fd = fs.openSync('/dev/null', 'w'); process.stdin.once('data', () => { for (let i = 0; i < 200; i++) fs.writeSync(fd, 'x'); console.log('done'); }); console.log('ready'); setTimeout(() => {}, 5000);";
  const child = spawn(process.execPath, ['-e', writes], { stdio: ['pipe', 'pipe', 'inherit'] });
  const next = () => new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
  await next();
  const before = writeSyscalls(child.pid!);
  child.stdin.write('go\n');
  await next();
  const after = writeSyscalls(child.pid!);
  child.kill();
  // Its own 200, plus the one that printed "done".
  assert.ok(after - before >= 200 && after - before < 220, `${after - before} writes counted`);
});

it('counts the times a process slept and was woken, over all its threads', async () => {
  // A child that sleeps 50 times on a 5 ms timer when told to: each sleep is one voluntary switch at least.
  const sleeper = "process.stdin.once('data', async () => { for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 5)); console.log('done'); }); console.log('ready'); setTimeout(() => {}, 5000);";
  const child = spawn(process.execPath, ['-e', sleeper], { stdio: ['pipe', 'pipe', 'inherit'] });
  const next = () => new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
  await next();
  const before = wakeups(child.pid!);
  child.stdin.write('go\n');
  await next();
  const after = wakeups(child.pid!);
  child.kill();
  assert.ok(after - before >= 50, `${after - before} wake-ups for 50 sleeps`);
});
