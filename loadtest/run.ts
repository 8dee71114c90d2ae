// `npm run loadtest -- --target wss://host/ws --scenario smoke|load|soak|spike [--expect-instances N]`
// Runs k6 (pinned, built by scripts/tools/k6.sh) on loadtest/chat.js, writes a
// JSON summary, a Markdown report and k6's HTML dashboard report under
// loadtest/results/, and exits with k6's code (99 when a threshold failed), or
// 3 when fewer than --expect-instances instances answered. `--record FILE`
// also writes the run's quoted figures as a small JSON file to commit.
// Tokens (AUTH_MODE=jwt targets): --tokens FILE gives each VU its own (one a
// line, VU n takes line (n-1) mod count), --token JWT one for all; with
// neither, a target with the local development endpoint gives one per VU.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeJwt } from 'jose';
import { WebSocket } from 'ws';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tokenUrl, writeTokenFile } from '../scripts/local/auth.js';
import { digest, type SummaryFile } from './digest.js';
import { loadRecord, provenance, writeRecord } from './record.js';
import { SCENARIOS as SHAPES, scenarioVus } from './lib/scenarios.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const K6 = join(ROOT, '.tools', 'bin', 'k6');
const SCENARIOS = Object.keys(SHAPES);
/** Exit code when fewer instances answered than --expect-instances (k6 uses 99 for failed thresholds). */
const EXIT_TOO_FEW_INSTANCES = 3;
/** Probe connections per expected instance: enough for round robin and for a load balancer's skew. */
const PROBES_PER_INSTANCE = 3;
const MIN_PROBES = 8;
const MAX_INSTANCES = 1000;
const USAGE = `usage: npm run loadtest -- --target wss://host/ws [--scenario ${SCENARIOS.join('|')}] [--insecure]
         [--expect-instances N] [--room-size K] [--messages M] [--rate R] [--p95 MS] [--results DIR] [--record FILE]
         [--tokens FILE | --token JWT]
  --target defaults to the running local cluster (npm run local), which also turns on --insecure.
  --expect-instances N: fail unless N distinct instances answer and every room's deliveries cross instances.
  --record FILE: also write the figures the docs quote (with command, date, machine, commit) to FILE, to commit.
  --tokens FILE: for a target with AUTH_MODE=jwt, one token a line (rooms including lt-*), VU n uses line
           (n-1) mod count; with a token for every VU, presence must count each VU as its own user
           (npm run secrets -- tokens ENV FILE mints them for a deployed environment).
  --token JWT: one token for every VU (one user). Without either, one token per VU is asked from the
           target's development endpoint (npm run local -- --auth jwt), if it has one.`;

function fail(message: string): never {
  process.stderr.write(`loadtest: ${message}\n`);
  process.exit(2);
}

/** Distinct instances behind the target, from the hello frames of a few connections. */
export async function probeInstances(target: string, insecure: boolean, connections = MIN_PROBES, token?: string): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < connections; i++) {
    const instance = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(tokenUrl(target, token), { rejectUnauthorized: !insecure });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no hello from ${target} within 5 s`));
      }, 5000);
      ws.once('message', (data) => {
        clearTimeout(timer);
        ws.close();
        resolve(String(JSON.parse(String(data)).instance));
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    seen.add(instance);
  }
  return [...seen].sort();
}

/** What --expect-instances N finds wrong: too few instances answered, rooms whose deliveries never crossed. */
export function expectationFailures(expected: number, probed: string[], summary: SummaryFile | undefined): string[] {
  const answered = [...new Set([...probed, ...Object.keys(summary?.connectionsPerInstance ?? {})])].sort();
  const failures: string[] = [];
  if (answered.length < expected) {
    failures.push(`expected ${expected} instances, ${answered.length} answered (${answered.join(', ') || 'none'})`);
  }
  const members = summary?.data.metrics.cross_instance_members?.values;
  if (expected >= 2 && members !== undefined && members.fails > 0) {
    failures.push(`${members.fails} of ${members.passes + members.fails} members never received a message from another instance: their rooms' deliveries never crossed instances`);
  }
  return failures;
}

/** A token for user `k6-<n>` from the target's development endpoint (the local cluster with --auth jwt), or undefined. */
function devToken(target: string, insecure: boolean, n: number): Promise<string | undefined> {
  const url = new URL(`/dev/token?name=k6-${n}&sub=k6-${n}`, target.replace(/^ws/, 'http'));
  return new Promise((resolve) => {
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    get(url, { rejectUnauthorized: !insecure }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as { token: string }).token : undefined);
        } catch {
          resolve(undefined);
        }
      });
    }).on('error', () => resolve(undefined));
  });
}

/**
 * One development token per VU (users k6-1 … k6-N) in a 0600 file of a fresh
 * temporary directory outside the results (which CI uploads), removed when the
 * wrapper exits, however it exits; undefined when the target has no endpoint.
 */
async function devTokensFile(target: string, insecure: boolean, vus: number): Promise<string | undefined> {
  const first = await devToken(target, insecure, 1);
  if (first === undefined) return undefined;
  const tokens = [first];
  for (let n = 2; n <= vus; n += 32) {
    const batch = Array.from({ length: Math.min(32, vus - n + 1) }, (_, i) => devToken(target, insecure, n + i));
    tokens.push(...(await Promise.all(batch)).map((token, i) => token ?? fail(`the development endpoint of ${target} gave no token for k6-${n + i}`)));
  }
  const dir = mkdtempSync(join(tmpdir(), 'chat-k6-tokens-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
  const file = join(dir, 'tokens');
  writeTokenFile(file, tokens);
  return file;
}

/** The tokens of --tokens FILE, one a line (blank lines ignored), or exit 2 naming the flag. */
function readTokens(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return fail(`--tokens ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const tokens = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  if (tokens.length === 0) fail(`--tokens ${file}: no token in it (one a line)`);
  return tokens;
}

/** The distinct `sub` claims of some tokens (read, not verified: the target verifies them). */
function distinctSubs(tokens: string[]): number {
  const subs = tokens.map((token) => {
    try {
      return String(decodeJwt(token).sub);
    } catch {
      return undefined;
    }
  });
  return new Set(subs.filter((s) => s !== undefined)).size;
}

function localTarget(): string | undefined {
  const state = join(process.env.CHAT_LOCAL_STATE_DIR ?? join(ROOT, '.local'), 'cluster.json');
  if (!existsSync(state)) return undefined;
  return `${String(JSON.parse(readFileSync(state, 'utf8')).url).replace('https', 'wss')}/ws`;
}

const OPTIONS = {
  target: { type: 'string' },
  scenario: { type: 'string', default: 'smoke' },
  insecure: { type: 'boolean', default: false },
  'room-size': { type: 'string' },
  messages: { type: 'string' },
  rate: { type: 'string' },
  'expect-instances': { type: 'string' },
  p95: { type: 'string' },
  results: { type: 'string' },
  record: { type: 'string' },
  token: { type: 'string' },
  tokens: { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** The flags, or exit 2 naming what is wrong (an unknown flag, a missing value). */
function flags(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS }).values;
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`);
  }
}

/** A shape override: a positive number (an integer for counts), or exit 2 naming the flag. */
function positive(flag: string, raw: string | undefined, integer: boolean): void {
  if (raw === undefined) return;
  const value = Number(raw);
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    fail(`--${flag} must be a positive ${integer ? 'integer' : 'number'} (got ${raw})`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const values = flags(args);
  if (values.help) return void console.log(USAGE);
  const scenario = values.scenario!;
  if (!SCENARIOS.includes(scenario)) fail(`--scenario must be one of ${SCENARIOS.join(', ')} (got ${scenario})\n${USAGE}`);
  positive('room-size', values['room-size'], true);
  positive('messages', values.messages, true);
  positive('rate', values.rate, false);
  positive('p95', values.p95, false);
  let target = values.target;
  let insecure = values.insecure!;
  if (target === undefined) {
    target = localTarget();
    if (target === undefined) fail(`--target is required when no local cluster runs\n${USAGE}`);
    insecure = true;
  }
  let expected: number | undefined;
  if (values['expect-instances'] !== undefined) {
    expected = Number(values['expect-instances']);
    if (!Number.isInteger(expected) || expected < 1 || expected > MAX_INSTANCES) {
      fail(`--expect-instances must be an integer from 1 to ${MAX_INSTANCES} (got ${values['expect-instances']})`);
    }
    const roomSize = Number(values['room-size'] ?? SHAPES[scenario].shape.roomSize);
    if (expected >= 2 && roomSize < 2) fail(`--expect-instances ${expected} needs rooms of 2 or more members to cross instances (--room-size ${roomSize})`);
  }
  if (!/^wss?:\/\//.test(target)) fail(`--target must be a ws:// or wss:// URL such as wss://chat.example.com/ws (got ${target})`);
  if (!existsSync(K6)) fail('k6 is not installed; run: bash scripts/tools/k6.sh');
  if (!existsSync(join(ROOT, 'service', 'dist', 'protocol', 'frames.js'))) {
    // The k6 scripts import the same protocol modules the service is built from.
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) fail('npm run build failed');
  }

  if (values.token !== undefined && values.tokens !== undefined) fail('give --tokens FILE or --token JWT, not both');
  const vus = scenarioVus(scenario);
  // Tokens are credentials: k6 reads them from a file (TOKENS_FILE) or the environment, never from argv.
  let tokensFile: string | undefined;
  let perVu: string[] = [];
  if (values.tokens !== undefined) {
    tokensFile = resolve(values.tokens);
    perVu = readTokens(tokensFile);
  } else if (values.token === undefined) {
    tokensFile = await devTokensFile(target, insecure, vus);
    if (tokensFile !== undefined) perVu = readTokens(tokensFile);
  }
  // A token for every VU: each VU is meant to be its own user, and presence must count them so.
  const expectDistinctUsers = perVu.length >= vus;
  if (values.tokens !== undefined) {
    const users = distinctSubs(perVu.slice(0, vus));
    if (!expectDistinctUsers) console.log(`loadtest: --tokens holds ${perVu.length} token(s) for ${vus} VUs: VUs share them; presence is not checked for distinct users`);
    else if (users < vus) console.log(`loadtest: --tokens gives ${vus} VUs only ${users} distinct user(s) (sub): the presence check (presence_distinct_users) will fail`);
  }
  const token = values.token ?? perVu[0];
  const probes = Math.max(MIN_PROBES, PROBES_PER_INSTANCE * (expected ?? 0));
  const refused = (message: string) =>
    !/401/.test(message)
      ? ''
      : values.tokens !== undefined
        ? ` (the target refused the first token of --tokens ${values.tokens}: wrong secret, issuer or audience, or expired?)`
        : values.token !== undefined
          ? ' (the target refused --token)'
          : ' (the target wants a token: --tokens FILE or --token JWT)';
  const instances = await probeInstances(target, insecure, probes, token).catch((error: Error) => fail(`cannot reach ${target}: ${error.message}${refused(error.message)}`));
  console.log(`loadtest: ${target} answers from ${instances.length} instance(s): ${instances.join(', ')}`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = values.results ?? join(ROOT, 'loadtest', 'results', `${stamp}-${scenario}`);
  mkdirSync(dir, { recursive: true });
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    TOKEN: '',
    TOKENS_FILE: '',
    TARGET: target,
    SCENARIO: scenario,
    INSECURE: insecure ? '1' : '0',
    // With --expect-instances the cross-instance thresholds hold whatever the probe saw.
    EXPECT_CROSS_INSTANCE: (expected ?? instances.length) >= 2 ? '1' : '0',
    EXPECT_EVERY_ROOM_CROSSES: (expected ?? 0) >= 2 ? '1' : '0',
    RUN_ID: stamp,
    SUMMARY_JSON: join(dir, 'summary.json'),
    REPORT_MD: join(dir, 'report.md'),
    K6_NO_USAGE_REPORT: 'true',
    // k6's web dashboard, exported as one self-contained HTML file; port -1: no HTTP server.
    K6_WEB_DASHBOARD: 'true',
    K6_WEB_DASHBOARD_PORT: '-1',
    K6_WEB_DASHBOARD_PERIOD: SHAPES[scenario].reportPeriod,
    K6_WEB_DASHBOARD_EXPORT: join(dir, 'report.html'),
  };
  if (tokensFile !== undefined) env.TOKENS_FILE = tokensFile;
  else if (token !== undefined) env.TOKEN = token;
  env.EXPECT_DISTINCT_USERS = expectDistinctUsers ? '1' : '0';
  if (values['room-size']) env.ROOM_SIZE = values['room-size'];
  if (values.messages) env.MESSAGES = values.messages;
  if (values.rate) env.RATE = values.rate;
  if (values.p95) env.P95_MS = values.p95;

  const k6 = spawn(K6, ['run', '--quiet', join(ROOT, 'loadtest', 'chat.js')], { env, stdio: 'inherit' });
  const code = await new Promise<number>((resolve) => k6.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1))));
  const summaryPath = join(dir, 'summary.json');
  const summary = existsSync(summaryPath) ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as SummaryFile & { run: { scenario: string } }) : undefined;
  if (summary) console.log(`loadtest: ${digest(summary)}`);
  const files = ['summary.json', 'report.md', 'report.html'].filter((file) => existsSync(join(dir, file)));
  console.log(`loadtest: results in ${dir} (${files.join(', ')}); k6 exited with ${code}`);
  const verdict = expected === undefined ? [] : expectationFailures(expected, instances, summary);
  for (const line of verdict) process.stderr.write(`loadtest: FAILED: ${line}\n`);
  const exitCode = code !== 0 ? code : verdict.length > 0 ? EXIT_TOO_FEW_INSTANCES : 0;
  if (values.record !== undefined) {
    // A failed run is recorded too, with its exit code: the file says what happened.
    if (summary === undefined) process.stderr.write(`loadtest: k6 wrote no summary; nothing recorded in ${values.record}\n`);
    else {
      // A token is a credential: the recorded command names it without its value.
      const shown = args.map((arg, i) => (args[i - 1] === '--token' ? '<token>' : arg.startsWith('--token=') ? '--token=<token>' : arg));
      writeRecord(values.record, loadRecord(summary, exitCode, provenance(ROOT, shown)));
      console.log(`loadtest: figures recorded in ${values.record}`);
    }
  }
  process.exit(exitCode);
}

await main();
