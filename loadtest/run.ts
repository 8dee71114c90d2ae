// `npm run loadtest -- --target wss://host/ws --scenario smoke|load|soak|spike [--expect-instances N]`
// Runs k6 (pinned, built by scripts/tools/k6.sh) on loadtest/chat.js, writes a
// JSON summary, a Markdown report and k6's HTML dashboard report under
// loadtest/results/, and exits with k6's code (99 when a threshold failed), or
// 3 when fewer than --expect-instances instances answered. `--record FILE`
// also writes the run's quoted figures as a small JSON file to commit.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tokenUrl } from '../scripts/local/auth.js';
import { digest, type SummaryFile } from './digest.js';
import { loadRecord, provenance, writeRecord } from './record.js';
import { SCENARIOS as SHAPES } from './lib/scenarios.js';

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
         [--expect-instances N] [--room-size K] [--messages M] [--rate R] [--p95 MS] [--results DIR] [--record FILE] [--token JWT]
  --target defaults to the running local cluster (npm run local), which also turns on --insecure.
  --expect-instances N: fail unless N distinct instances answer and every room's deliveries cross instances.
  --record FILE: also write the figures the docs quote (with command, date, machine, commit) to FILE, to commit.
  --token: for a target with AUTH_MODE=jwt (a token whose rooms include lt-*); without it, a token is
           asked from the target's development endpoint (npm run local -- --auth jwt), if it has one.`;

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

/** A token from the target's development endpoint (the local cluster with --auth jwt), or undefined. */
function devToken(target: string, insecure: boolean): Promise<string | undefined> {
  const url = new URL('/dev/token?name=k6', target.replace(/^ws/, 'http'));
  return new Promise((resolve) => {
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    get(url, { rejectUnauthorized: !insecure }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(body) as { token: string }).token : undefined));
    }).on('error', () => resolve(undefined));
  });
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

  const probes = Math.max(MIN_PROBES, PROBES_PER_INSTANCE * (expected ?? 0));
  const token = values.token ?? (await devToken(target, insecure));
  const instances = await probeInstances(target, insecure, probes, token).catch((error: Error) =>
    fail(`cannot reach ${target}: ${error.message}${/401/.test(error.message) ? ' (the target wants a token: --token JWT)' : ''}`),
  );
  console.log(`loadtest: ${target} answers from ${instances.length} instance(s): ${instances.join(', ')}`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = values.results ?? join(ROOT, 'loadtest', 'results', `${stamp}-${scenario}`);
  mkdirSync(dir, { recursive: true });
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
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
  if (token !== undefined) env.TOKEN = token;
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
