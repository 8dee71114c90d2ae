// The policy scan CI runs: scripts/infra/checkov.sh over every environment
// must pass with zero failed checks, every skip must carry a reason, and the
// scan must actually catch a weakened setting.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'chat-checkov-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(command: string, args: string[]) {
  return spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 600_000, env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
}

describe('checkov', () => {
  const outdir = join(work, 'cdktf.out');
  const sarifDir = join(work, 'sarif');
  const scan = run('bash', ['scripts/infra/checkov.sh', '--outdir', outdir, '--sarif-dir', sarifDir]);

  test('every environment passes with zero failed checks', () => {
    assert.equal(scan.status, 0, `${scan.stdout}\n${scan.stderr}`);
    const summary = /Passed checks: (\d+), Failed checks: (\d+)/.exec(scan.stdout);
    assert.ok(summary, scan.stdout);
    assert.equal(Number(summary[2]), 0);
    assert.ok(Number(summary[1]) > 100, `only ${summary[1]} checks ran`);
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    for (const stack of Object.keys(manifest.stacks)) assert.ok(scan.stderr.includes(`stacks/${stack}/cdk.tf.json`), `scanned ${stack}`);
  });

  test('writes SARIF for code scanning', () => {
    const sarif = JSON.parse(readFileSync(join(sarifDir, 'results_sarif.sarif'), 'utf8'));
    assert.equal(sarif.runs[0].results.length, 0);
  });

  test('every skipped check is listed in .checkov.yaml with a reason', () => {
    const lines = readFileSync(join(root, '.checkov.yaml'), 'utf8').split('\n');
    const skips = lines.filter((line) => /^\s*-\s*CKV/.test(line));
    assert.ok(skips.length > 0);
    for (const line of skips) assert.match(line, /^\s*-\s*CKV2?_AWS_\d+\s+#\s+\S.{20,}$/, `skip without a reason: ${line}`);
  });

  test('a weakened stack fails the scan', () => {
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    const stackPath = join(outdir, manifest.stacks['chat-dev'].synthesizedStackPath);
    const stack = JSON.parse(readFileSync(stackPath, 'utf8'));
    for (const lb of Object.values<any>(stack.resource.aws_lb)) lb.drop_invalid_header_fields = false;
    for (const lt of Object.values<any>(stack.resource.aws_launch_template)) lt.metadata_options.http_tokens = 'optional';
    delete stack.resource.aws_wafv2_web_acl_association;
    const weakened = join(work, 'weakened.tf.json');
    writeFileSync(weakened, JSON.stringify(stack));
    assert.ok(existsSync(join(root, '.tools/bin/checkov')));
    const result = run(join(root, '.tools/bin/checkov'), ['--config-file', join(root, '.checkov.yaml'), '-f', weakened]);
    assert.notEqual(result.status, 0);
    assert.match(result.stdout, /CKV_AWS_131/, 'drop invalid headers');
    assert.match(result.stdout, /CKV_AWS_79/, 'IMDSv2');
    assert.match(result.stdout, /CKV2_AWS_28/, 'ALB without WAF');
  });
});
