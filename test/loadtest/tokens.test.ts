// k6 against a local cluster with AUTH_MODE=jwt, one user per VU: with no token
// flag the wrapper takes one development token per VU (in a 0600 temporary file
// outside the results, removed afterwards); --tokens FILE minted by
// scripts/infra/loadtest-tokens.ts for the cluster's secret passes too; presence
// must count each VU as its own user (tokens that share one user fail that
// check); a file signed with another secret, a missing or an empty one fail
// before k6 starts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { environments } from '../../config/environments.js';
import { startCluster, type Cluster } from '../../scripts/local/cluster.js';
import { mintLoadtestToken } from '../../scripts/infra/loadtest-tokens.js';

interface Run {
  code: number | null;
  output: string;
  dir: string;
  summary?: { data: { metrics: Record<string, { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }> } };
}

const work = mkdtempSync(join(tmpdir(), 'chat-k6-tokens-test-'));
// The wrapper's own temporary files go here, so the test can see them removed.
const wrapperTmp = join(work, 'tmp');
mkdirSync(wrapperTmp);
const { issuer, audience } = environments.dev!.identity;
const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/;

function loadtest(cluster: Cluster, name: string, extraArgs: string[] = []): Promise<Run> {
  const dir = join(work, name);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'loadtest/run.ts', '--target', cluster.wsUrl, '--insecure', '--scenario', 'smoke', '--results', dir, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: wrapperTmp, PATH: `${join(process.cwd(), '.tools', 'bin')}:${process.env.PATH}` } },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return new Promise<number | null>((resolve) => child.once('close', resolve)).then((code) => ({
    code,
    output,
    dir,
    summary: existsSync(join(dir, 'summary.json')) ? JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) : undefined,
  }));
}

/** Mints a tokens file with the script the deploy uses, the secret on its stdin. */
function mintFile(secret: string, file: string, count?: number): void {
  const args = ['--import', 'tsx', 'scripts/infra/loadtest-tokens.ts', 'dev', file, ...(count ? ['--count', String(count)] : [])];
  const result = spawnSync(process.execPath, args, { input: secret, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.doesNotMatch(result.stdout + result.stderr, JWT, 'no token printed');
}

/** No file the run left in its results holds a token. */
function assertNoTokenIn(dir: string): void {
  for (const file of readdirSync(dir)) assert.doesNotMatch(readFileSync(join(dir, file), 'utf8'), JWT, `${file} holds a token`);
}

describe('k6 with one user per VU against a jwt cluster', () => {
  let cluster: Cluster;
  before(async () => {
    // The dev environment's issuer and audience, so the tokens npm run secrets -- tokens dev mints are valid here.
    cluster = await startCluster({ instances: 2, auth: 'jwt', env: { DRAIN_SECONDS: '0', AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience } });
  });
  after(async () => {
    await cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('with no token flag: a development token per VU, presence counts 12 users, the token file is gone afterwards', async () => {
    const running = loadtest(cluster, 'dev-endpoint');
    // While k6 runs: the wrapper's token file, 0600, in a temporary directory of its own, not in the results.
    let seen: { path: string; mode: number; subs: Set<unknown> } | undefined;
    for (let ended = false; !ended && seen === undefined; ) {
      const dirs = readdirSync(wrapperTmp).filter((f) => f.startsWith('chat-k6-tokens-'));
      const path = dirs.length > 0 ? join(wrapperTmp, dirs[0]!, 'tokens') : undefined;
      if (path !== undefined && existsSync(path)) {
        const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
        if (lines.length === 12) seen = { path, mode: statSync(path).mode & 0o777, subs: new Set(lines.map((l) => decodeJwt(l).sub)) };
      }
      ended = await Promise.race([running.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20))]);
    }
    const run = await running;
    assert.ok(seen, `the wrapper wrote its token file under TMPDIR:\n${run.output.slice(-2000)}`);
    assert.equal(seen.mode, 0o600);
    assert.deepEqual([...seen.subs].sort(), Array.from({ length: 12 }, (_, i) => `k6-${i + 1}`).sort(), 'users k6-1 … k6-12');
    assert.equal(run.code, 0, run.output.slice(-3000));
    const distinct = run.summary!.data.metrics.presence_distinct_users!;
    assert.equal(distinct.thresholds?.['rate==1']?.ok, true);
    assert.equal(distinct.values.passes, 12, 'every member judged its full room');
    assert.equal(distinct.values.fails, 0);
    assert.match(run.output, /members whose full room counted each member as its own user \| 12 of 12/);
    assert.deepEqual(readdirSync(wrapperTmp).filter((f) => f.startsWith('chat-k6-tokens-')), [], 'the temporary token file is removed');
    assertNoTokenIn(run.dir);
    assert.doesNotMatch(run.output, JWT);
  });

  it('the development token file is removed when the run fails too', async () => {
    const run = await loadtest(cluster, 'dev-endpoint-failed', ['--p95', '0.001']);
    assert.equal(run.code, 99, run.output.slice(-2000));
    assert.deepEqual(readdirSync(wrapperTmp).filter((f) => f.startsWith('chat-k6-tokens-')), []);
  });

  it('--tokens FILE minted by scripts/infra/loadtest-tokens.ts for the cluster secret passes', async () => {
    const file = join(work, 'minted.tokens');
    mintFile(cluster.auth!.secret, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const run = await loadtest(cluster, 'minted', ['--tokens', file]);
    assert.equal(run.code, 0, run.output.slice(-3000));
    assert.equal(run.summary!.data.metrics.presence_distinct_users!.thresholds?.['rate==1']?.ok, true);
    assert.equal(run.summary!.data.metrics.messages_received!.values.count, 12 * 4 * 10);
    assertNoTokenIn(run.dir);
    assert.doesNotMatch(run.output, JWT);
  });

  it('tokens that all name one user fail the presence check', async () => {
    const file = join(work, 'one-user.tokens');
    const signer = { secret: cluster.auth!.secret, issuer, audience };
    const tokens = await Promise.all(Array.from({ length: 12 }, () => mintLoadtestToken(signer, 1, 600)));
    writeFileSync(file, `${tokens.join('\n')}\n`, { mode: 0o600 });
    const run = await loadtest(cluster, 'one-user', ['--tokens', file]);
    assert.equal(run.code, 99, `k6 exits 99 when thresholds fail:\n${run.output.slice(-3000)}`);
    assert.match(run.output, /--tokens gives 12 VUs only 1 distinct user\(s\)/);
    assert.equal(run.summary!.data.metrics.presence_distinct_users!.thresholds?.['rate==1']?.ok, false);
    assert.match(run.output, /FAILED thresholds:(\n- .*)*\n- presence_distinct_users: rate==1/);
  });

  it('a tokens file signed with another secret fails before k6 starts, with the probe\'s 401', async () => {
    const file = join(work, 'other-secret.tokens');
    mintFile(randomBytes(32).toString('hex'), file, 12);
    const run = await loadtest(cluster, 'other-secret', ['--tokens', file]);
    assert.equal(run.code, 2, run.output);
    assert.match(run.output, /loadtest: cannot reach wss:\/\/\S+: Unexpected server response: 401 \(the target refused the first token of --tokens \S+other-secret\.tokens: wrong secret, issuer or audience, or expired\?\)/);
    assert.ok(!existsSync(join(run.dir, 'summary.json')), 'k6 never ran');
  });
});

describe('--tokens FILE is checked before anything starts', () => {
  it('a missing file, an empty one, and --token with --tokens fail naming the flag', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-k6-tokens-flags-'));
    try {
      const empty = join(dir, 'empty');
      writeFileSync(empty, '\n\n  \n');
      for (const [args, message] of [
        [['--tokens', join(dir, 'missing')], /--tokens \S+missing: cannot read it \(ENOENT\)/],
        [['--tokens', empty], /--tokens \S+empty: no token in it \(one a line\)/],
        [['--tokens', empty, '--token', 'x'], /give --tokens FILE or --token JWT, not both/],
      ] as const) {
        const result = spawnSync(process.execPath, ['--import', 'tsx', 'loadtest/run.ts', '--target', 'ws://127.0.0.1:9/ws', ...args], { encoding: 'utf8' });
        assert.equal(result.status, 2, result.stderr);
        assert.match(result.stderr, message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
