// `npm run bench:profile` end to end, small: every system profiled at one
// rate, written where --out says (a folder that does not exist yet), self time
// per system and a flame graph of each Node system.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

it('bench:profile writes the self-time tables and flame graphs into a new --out folder', { timeout: 240_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-profile-test-'));
  try {
    const out = join(scratch, 'not', 'yet');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/profile/run.ts', '--rate', '2000', '--seconds', '1', '--out', out], { encoding: 'utf8', timeout: 230_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const report = readFileSync(join(out, 'profile.md'), 'utf8');
    assert.match(report, /`npm run bench:profile -- --rate 2000 --seconds 1`/);
    for (const system of ['service', 'socketio', 'centrifuge', 'ceiling']) assert.match(report, new RegExp(`^## ${system}\\n`, 'm'), `a section for ${system}`);
    // Each table has rows of self time with a share.
    assert.ok((report.match(/^\| [\d.]+ ?m?s \| [\d.]+ ?% \| `/gm) ?? []).length >= 4, report);
    for (const system of ['service', 'socketio', 'ceiling']) assert.match(readFileSync(join(out, `profile-${system}.svg`), 'utf8'), /^<svg /);
    assert.ok(!existsSync(join(out, 'profile-centrifuge.svg')), 'the Go peer is profiled by pprof, without a flame graph here');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
