// The service bundle as the AMI runs it: made by `npm run bundle`, unpacked
// the way provisioning unpacks it, and started exactly as chat.service starts
// it (same ExecStart, WorkingDirectory, Environment and an EnvironmentFile in
// the format user data writes, read as systemd reads it) against a real
// redis-server, until /readyz answers 200; then stopped the way systemd stops
// it, within the unit's TimeoutStopSec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitOf, track } from '../../scripts/local/children.js';
import { freePort } from '../../scripts/local/ports.js';
import { startRedis } from '../../scripts/local/redis.js';
import { INSTALL_DIR, readUnit, relocate } from './imageFiles.js';
import { REPO_ROOT } from './packerTool.js';
import { parseEnvironmentFile, parseTimeSpanSeconds, splitCommandLine, unitValue, unitValues } from './systemdFiles.js';
import { isAlive } from '../../scripts/local/children.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** What systemd puts in a service's environment before the unit's own settings. */
const SYSTEMD_BASE_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin', LANG: 'C.UTF-8' };

/** /etc/chat/chat.env as user data writes it (the values local, the format the same). */
function userDataEnvironment(redisUrl: string, port: number): string {
  return [
    '# written by user data on boot',
    `REDIS_URL=${redisUrl}`,
    'INSTANCE_ID=i-0123456789abcdef0',
    'WORKERS=auto',
    `PORT=${port}`,
    'LOG_LEVEL=info',
    // Tests listen on loopback only; on an instance HOST stays the default.
    'HOST=127.0.0.1',
    '',
  ].join('\n');
}

async function waitForStatus(url: string, status: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const start = Date.now();
  let last = 'no answer';
  while (Date.now() - start < timeoutMs) {
    if (exited()) throw new Error(`the service exited while waiting for ${url} to answer ${status}`);
    try {
      const response = await fetch(url);
      last = `${response.status}`;
      if (response.status === status) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

test('the bundle unpacks to the service with production dependencies only, and starts as the unit starts it', { timeout: 180_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'chat-bundle-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // npm run bundle
  const printed = execFileSync('bash', ['scripts/bundle.sh'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const bundle = /^bundle: (.+)$/m.exec(printed)?.[1];
  const sha256 = /^sha256: ([0-9a-f]{64})$/m.exec(printed)?.[1];
  assert.equal(bundle, join(REPO_ROOT, 'build', `chat-service-${pkg.version}.tar.gz`));
  assert.equal(sha256, createHash('sha256').update(readFileSync(bundle)).digest('hex'), 'printed checksum is the file’s');
  assert.equal(readFileSync(`${bundle}.sha256`, 'utf8'), `${sha256}  chat-service-${pkg.version}.tar.gz\n`);

  // One top-level directory, unpacked the way provision.sh does.
  const listing = execFileSync('tar', ['-tzf', bundle], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim().split('\n');
  assert.deepEqual([...new Set(listing.map((entry) => entry.split('/')[0]))], [`chat-service-${pkg.version}`]);
  const install = join(work, 'opt-chat');
  mkdirSync(join(install, 'bin'), { recursive: true });
  execFileSync('tar', ['-xzf', bundle, '-C', install, '--strip-components=1', '--no-same-owner']);

  assert.equal(JSON.parse(readFileSync(join(install, 'package.json'), 'utf8')).type, 'module');
  for (const file of ['service/dist/server.js', 'service/public/index.html']) assert.ok(existsSync(join(install, file)), `${file} missing`);
  // Scoped packages (@smithy/…) sit one directory deeper.
  for (const name of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(install, 'node_modules', name)), `production dependency ${name} missing`);
  for (const name of Object.keys(pkg.devDependencies)) {
    assert.ok(!existsSync(join(install, 'node_modules', name)), `dev dependency ${name} is in the bundle`);
  }
  assert.equal(listing.some((entry) => entry.includes('/service/src/')), false, 'TypeScript sources are not shipped');

  // The AMI links bin/node to its Node.js; here, to the one running the tests.
  symlinkSync(process.execPath, join(install, 'bin', 'node'));

  const redis = await startRedis();
  t.after(() => redis.stop());
  const port = await freePort();
  const envFile = join(work, 'chat.env');
  writeFileSync(envFile, userDataEnvironment(redis.url, port), { mode: 0o640 });

  // Everything below comes from the unit file, relocated from /opt/chat.
  const unit = readUnit();
  const service = (key: string) => unitValue(unit, 'Service', key);
  assert.equal(service('EnvironmentFile'), '/etc/chat/chat.env');
  const [command, ...args] = splitCommandLine(service('ExecStart') ?? '').map((word) => relocate(word, install));
  const unitEnvironment = Object.fromEntries(
    unitValues(unit, 'Service', 'Environment').flatMap((line) => splitCommandLine(line).map((pair) => pair.split(/=(.*)/s).slice(0, 2))),
  );
  const env = { ...SYSTEMD_BASE_ENV, ...unitEnvironment, ...parseEnvironmentFile(readFileSync(envFile, 'utf8')) };
  assert.equal(env.REDIS_URL, redis.url);
  assert.equal(env.NODE_ENV, 'production');

  // StandardOutput/StandardError=append:/var/log/chat/service.log
  const logFile = join(work, 'service.log');
  const logFd = openSync(logFile, 'a');
  const child = track(spawn(command, args, { cwd: relocate(service('WorkingDirectory') ?? '/', install), env, stdio: ['ignore', logFd, logFd], detached: true }));
  closeSync(logFd);
  const exited = exitOf(child);
  t.after(() => {
    if (isAlive(child.pid!)) process.kill(-child.pid!, 'SIGKILL');
  });

  const base = `http://127.0.0.1:${port}`;
  const running = () => child.exitCode !== null || child.signalCode !== null;
  try {
    await waitForStatus(`${base}/healthz`, 200, 30_000, running);
    await waitForStatus(`${base}/readyz`, 200, 30_000, running);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nservice.log:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
  }
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200, 'the chat page is served from service/public');

  // The service logs JSON lines into the file the CloudWatch agent ships.
  const lines = readFileSync(logFile, 'utf8').trim().split('\n');
  assert.ok(lines.length > 0);
  const first = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.ok(first.level !== undefined && first.msg !== undefined, `not a pino line: ${lines[0]}`);

  // KillMode=mixed: SIGTERM to the main process only, SIGKILL after TimeoutStopSec.
  const timeoutStopMs = parseTimeSpanSeconds(service('TimeoutStopSec') ?? '90') * 1000;
  const stopStart = Date.now();
  process.kill(child.pid!, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutStopMs)));
  const code = await Promise.race([exited, deadline]);
  clearTimeout(timer);
  const stopMs = Date.now() - stopStart;
  assert.notEqual(code, 'timeout', `did not stop within TimeoutStopSec (${timeoutStopMs} ms): systemd would SIGKILL it`);
  assert.equal(code, 0, 'a clean stop exits 0, so Restart=on-failure leaves it stopped');
  assert.equal(isAlive(-child.pid!), false, 'no worker outlives the main process');
  t.diagnostic(`stopped ${stopMs} ms after SIGTERM (TimeoutStopSec ${timeoutStopMs} ms)`);
});
