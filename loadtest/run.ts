// `npm run loadtest -- --target wss://host/ws --scenario smoke|load|soak|spike`
// Runs k6 (pinned, built by scripts/tools/k6.sh) on loadtest/chat.js, writes a
// JSON summary and a Markdown report under loadtest/results/, and exits with
// k6's code: non-zero when a threshold failed.
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

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const K6 = join(ROOT, '.tools', 'bin', 'k6');
const SCENARIOS = ['smoke', 'load', 'soak', 'spike'];
const USAGE = `usage: npm run loadtest -- --target wss://host/ws [--scenario smoke|load|soak|spike] [--insecure]
         [--room-size K] [--messages M] [--rate R] [--p95 MS] [--results DIR] [--token JWT]
  --target defaults to the running local cluster (npm run local), which also turns on --insecure.
  --token: for a target with AUTH_MODE=jwt (a token whose rooms include lt-*); without it, a token is
           asked from the target's development endpoint (npm run local -- --auth jwt), if it has one.`;

function fail(message: string): never {
  process.stderr.write(`loadtest: ${message}\n`);
  process.exit(2);
}

/** Distinct instances behind the target, from the hello frames of a few connections. */
export async function probeInstances(target: string, insecure: boolean, connections = 8, token?: string): Promise<string[]> {
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      scenario: { type: 'string', default: 'smoke' },
      insecure: { type: 'boolean', default: false },
      'room-size': { type: 'string' },
      messages: { type: 'string' },
      rate: { type: 'string' },
      p95: { type: 'string' },
      results: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(USAGE);
  const scenario = values.scenario!;
  if (!SCENARIOS.includes(scenario)) fail(`--scenario must be one of ${SCENARIOS.join(', ')} (got ${scenario})\n${USAGE}`);
  let target = values.target;
  let insecure = values.insecure!;
  if (target === undefined) {
    target = localTarget();
    if (target === undefined) fail(`--target is required when no local cluster runs\n${USAGE}`);
    insecure = true;
  }
  if (!/^wss?:\/\//.test(target)) fail(`--target must be a ws:// or wss:// URL such as wss://chat.example.com/ws (got ${target})`);
  if (!existsSync(K6)) fail('k6 is not installed; run: bash scripts/tools/k6.sh');
  if (!existsSync(join(ROOT, 'service', 'dist', 'protocol', 'frames.js'))) {
    // The k6 scripts import the same protocol modules the service is built from.
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) fail('npm run build failed');
  }

  const token = values.token ?? (await devToken(target, insecure));
  const instances = await probeInstances(target, insecure, 8, token).catch((error: Error) =>
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
    EXPECT_CROSS_INSTANCE: instances.length >= 2 ? '1' : '0',
    RUN_ID: stamp,
    SUMMARY_JSON: join(dir, 'summary.json'),
    REPORT_MD: join(dir, 'report.md'),
    K6_NO_USAGE_REPORT: 'true',
  };
  if (token !== undefined) env.TOKEN = token;
  if (values['room-size']) env.ROOM_SIZE = values['room-size'];
  if (values.messages) env.MESSAGES = values.messages;
  if (values.rate) env.RATE = values.rate;
  if (values.p95) env.P95_MS = values.p95;

  const k6 = spawn(K6, ['run', '--quiet', join(ROOT, 'loadtest', 'chat.js')], { env, stdio: 'inherit' });
  const code = await new Promise<number>((resolve) => k6.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1))));
  const summaryPath = join(dir, 'summary.json');
  if (existsSync(summaryPath)) console.log(`loadtest: ${digest(JSON.parse(readFileSync(summaryPath, 'utf8')) as SummaryFile)}`);
  console.log(`loadtest: results in ${dir} (summary.json, report.md); k6 exited with ${code}`);
  process.exit(code);
}

await main();
