// /opt/chat/bin/chat-liveness, the watchdog that replaces an instance whose
// service is dead or wedged (stacks/health.ts). It runs here as on an instance,
// against a real HTTP server on loopback; `systemctl` and `aws` are recording
// stand-ins on PATH (no systemd manager, no AWS account here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIVENESS_PATH, LIVENESS_UNIT_PATH } from './imageFiles.js';
import { parseUnitFile, unitValue } from './systemdFiles.js';
import { eventually, sleep } from '../helpers/wsClient.js';
import { startInstance } from '../../scripts/local/instance.js';
import { freePort } from '../../scripts/local/ports.js';

type Mode = 'ok' | 'wedged' | 'error';

async function setup(t: { after(fn: () => void | Promise<void>): void }, target?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'chat-liveness-'));
  const calls = join(dir, 'aws-calls');
  const curls = join(dir, 'curl-calls');
  const unitState = join(dir, 'unit-state');
  writeFileSync(unitState, 'active');
  // is-active --quiet: exit 0 only when the recorded state is "active".
  writeFileSync(join(dir, 'systemctl'), `#!/usr/bin/env bash\n[[ "$(<'${unitState}')" == active ]]\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'aws'), `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> '${calls}'\n`, { mode: 0o755 });
  // The real curl, counted.
  const realCurl = spawnSync('bash', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(dir, 'curl'), `#!/usr/bin/env bash\necho >> '${curls}'\nexec '${realCurl}' "$@"\n`, { mode: 0o755 });

  let mode: Mode = 'ok';
  let probes = 0;
  const server: Server = createServer((req, res) => {
    probes++;
    if (req.url !== '/healthz') return void res.writeHead(404).end();
    if (mode === 'ok') return void res.writeHead(200).end('{"status":"ok"}');
    if (mode === 'error') return void res.writeHead(500).end();
    // wedged: never answers
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  let child: ChildProcess | undefined;
  let exitCode: number | null | undefined;
  let stderr = '';
  const start = () => {
    child = spawn('bash', [LIVENESS_PATH], {
      env: {
        PATH: `${dir}:${process.env.PATH}`,
        AWS_REGION: 'eu-west-1',
        INSTANCE_ID: 'i-0123456789abcdef0',
        LIVENESS_URL: target ?? `http://127.0.0.1:${port}/healthz`,
        LIVENESS_INTERVAL_SECONDS: '0.2',
        LIVENESS_TIMEOUT_SECONDS: '0.5',
        LIVENESS_FAILURES: '4',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => (exitCode = code));
  };
  t.after(async () => {
    if (child && exitCode === undefined) child.kill('SIGKILL');
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    start,
    setMode: (next: Mode) => (mode = next),
    setUnit: (state: string) => writeFileSync(unitState, state),
    probes: () => probes,
    curls: () => (existsSync(curls) ? readFileSync(curls, 'utf8').length : 0),
    reports: () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []),
    exitCode: () => exitCode,
    stderr: () => stderr,
  };
}

const REPORT = 'autoscaling set-instance-health --region eu-west-1 --instance-id i-0123456789abcdef0 --health-status Unhealthy --no-should-respect-grace-period';

test('a healthy service is never reported', async (t) => {
  const w = await setup(t);
  w.start();
  await eventually(() => w.probes() >= 10, '10 probes', 20_000);
  assert.deepEqual(w.reports(), []);
  assert.equal(w.exitCode(), undefined, 'still watching');
});

test('a wedged service (no answer) is reported Unhealthy once, then the watchdog exits', async (t) => {
  const w = await setup(t);
  w.setMode('wedged');
  w.start();
  await eventually(() => w.exitCode() !== undefined, 'watchdog exits after reporting', 20_000);
  assert.equal(w.exitCode(), 0);
  assert.deepEqual(w.reports(), [REPORT]);
  // Bounded logging: one line when probes start failing, one when it reports.
  assert.equal(w.stderr().trim().split('\n').length, 2, w.stderr());
});

test('a dead unit (not active) is reported like a wedged one', async (t) => {
  const w = await setup(t);
  w.setUnit('failed');
  w.start();
  await eventually(() => w.exitCode() !== undefined, 'watchdog exits after reporting', 20_000);
  assert.deepEqual(w.reports(), [REPORT]);
});

test('failures short of the threshold (a crash systemd restarts) reset on the next good probe', async (t) => {
  const w = await setup(t);
  w.start();
  await eventually(() => w.probes() >= 2, 'first probes', 20_000);
  for (let round = 0; round < 3; round++) {
    w.setMode('error');
    const before = w.probes();
    await eventually(() => w.probes() >= before + 2, 'two failed probes', 20_000);
    w.setMode('ok');
    const after = w.probes();
    await eventually(() => w.probes() >= after + 1, 'a good probe', 20_000);
  }
  await sleep(500);
  assert.deepEqual(w.reports(), []);
  assert.equal(w.exitCode(), undefined);
});

test('a real instance without Redis (not ready) stays live: the watchdog never reports it', async (t) => {
  // Nothing listens on this port: the service cannot reach Redis at all.
  const instance = await startInstance({ instanceId: 'no-redis', redisUrl: `redis://127.0.0.1:${await freePort()}`, waitReady: false });
  t.after(() => instance.stop('SIGKILL').then(() => undefined));
  await eventually(async () => (await fetch(`${instance.url}/readyz`).catch(() => undefined))?.status === 503, 'readyz 503 without Redis', 20_000);
  assert.equal((await fetch(`${instance.url}/healthz`)).status, 200);
  const w = await setup(t, `${instance.url}/healthz`);
  w.start();
  // Three times the probes that would report a dead service.
  await eventually(() => w.curls() >= 12, '12 probes of the real /healthz', 30_000);
  assert.deepEqual(w.reports(), []);
  assert.equal(w.exitCode(), undefined, 'still watching');
  assert.equal((await fetch(`${instance.url}/readyz`)).status, 503, 'Redis was away the whole time');
});

test('the unit reads the environment user data writes and restarts only a crashed watchdog', () => {
  const unit = parseUnitFile(readFileSync(LIVENESS_UNIT_PATH, 'utf8'));
  assert.equal(unitValue(unit, 'Service', 'EnvironmentFile'), '/etc/chat/liveness.env');
  assert.equal(unitValue(unit, 'Service', 'ExecStart'), '/opt/chat/bin/chat-liveness');
  assert.equal(unitValue(unit, 'Service', 'Restart'), 'on-failure');
  assert.equal(unitValue(unit, 'Unit', 'ConditionPathExists'), '/etc/chat/liveness.env');
});
