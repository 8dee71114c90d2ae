// Bad flags to the load-test wrapper exit 2 with one line naming the flag,
// before anything is probed or k6 starts (docs/loadtest.md, exit codes).
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// No local cluster for the wrapper to find; a loopback target nothing serves.
const state = mkdtempSync(join(tmpdir(), 'chat-flags-'));
after(() => rmSync(state, { recursive: true, force: true }));
const TARGET = ['--target', 'ws://127.0.0.1:9/ws'];

function wrapper(args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'loadtest/run.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, CHAT_LOCAL_STATE_DIR: state },
    timeout: 60_000,
  });
  return { status: run.status, stderr: run.stderr };
}

const cases: Array<[string, string[], RegExp]> = [
  ['an unknown flag', ['--bogus'], /^loadtest: Unknown option '--bogus'/],
  ['a flag without its value', ['--record'], /^loadtest: Option '--record <value>' argument missing/],
  ['rooms of zero members', ['--room-size', '0'], /^loadtest: --room-size must be a positive integer \(got 0\)/],
  ['a fractional message count', ['--messages', '2.5'], /^loadtest: --messages must be a positive integer \(got 2\.5\)/],
  ['a rate that is not a number', ['--rate', 'abc'], /^loadtest: --rate must be a positive number \(got abc\)/],
  ['a negative latency bound', ['--p95=-5'], /^loadtest: --p95 must be a positive number \(got -5\)/],
];

for (const [what, args, message] of cases) {
  it(`refuses ${what} with exit 2 and a line naming it`, () => {
    const run = wrapper([...TARGET, ...args]);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });
}
