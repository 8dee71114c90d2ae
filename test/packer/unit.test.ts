// chat.service and the kernel settings: what the issue and the contract
// require of them, and systemd's own verdict on the unit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DRAIN_SECONDS, DRAIN_EXIT_GRACE_SECONDS } from '../../service/src/defaults.js';
import { INSTALL_DIR, readSysctl, readUnit, relocate, UNIT_PATH } from './imageFiles.js';
import { parseTimeSpanSeconds, splitCommandLine, unitValue } from './systemdFiles.js';

const unit = readUnit();
const service = (key: string) => unitValue(unit, 'Service', key);

test('the unit runs the bundle entry point as the chat user with the user-data environment', () => {
  assert.deepEqual(splitCommandLine(service('ExecStart') ?? ''), [`${INSTALL_DIR}/bin/node`, `${INSTALL_DIR}/service/dist/server.js`]);
  assert.equal(service('EnvironmentFile'), '/etc/chat/chat.env');
  assert.equal(service('User'), 'chat');
  assert.equal(service('Group'), 'chat');
  assert.equal(service('StandardOutput'), 'append:/var/log/chat/service.log');
  assert.equal(service('StandardError'), 'append:/var/log/chat/service.log');
});

test('the unit is enabled at boot but only starts once user data has written its environment', () => {
  assert.equal(unitValue(unit, 'Install', 'WantedBy'), 'multi-user.target');
  // A required (non "-") EnvironmentFile plus this condition: no start without it.
  assert.equal(unitValue(unit, 'Unit', 'ConditionPathExists'), service('EnvironmentFile'));
});

test('the unit restarts on failure and is hardened', () => {
  assert.equal(service('Restart'), 'on-failure');
  assert.equal(service('NoNewPrivileges'), 'yes');
  assert.equal(service('ProtectSystem'), 'strict');
  assert.equal(service('ProtectHome'), 'yes');
  assert.equal(service('PrivateTmp'), 'yes');
  assert.equal(service('CapabilityBoundingSet'), '');
});

test('the stop timeout outlasts the drain, and only the main process gets SIGTERM', () => {
  const timeout = parseTimeSpanSeconds(service('TimeoutStopSec') ?? '90');
  assert.ok(
    timeout > DEFAULT_DRAIN_SECONDS + DRAIN_EXIT_GRACE_SECONDS,
    `TimeoutStopSec ${timeout}s must exceed drain ${DEFAULT_DRAIN_SECONDS}s + exit grace ${DRAIN_EXIT_GRACE_SECONDS}s`,
  );
  // The cluster primary forwards SIGTERM to its workers once; a second one from
  // systemd (KillMode=control-group) would end their drain early.
  assert.equal(service('KillMode'), 'mixed');
  assert.equal(service('KillSignal') ?? 'SIGTERM', 'SIGTERM');
});

test('descriptor limits allow many sockets, and the kernel allows the unit its limit', () => {
  const sysctl = readSysctl();
  const limit = Number(service('LimitNOFILE'));
  assert.ok(limit >= 65_536, `LimitNOFILE ${limit} is too low for many WebSockets`);
  assert.ok(limit <= Number(sysctl.get('fs.nr_open') ?? 1_048_576), 'LimitNOFILE cannot exceed fs.nr_open');
  assert.ok(Number(sysctl.get('fs.file-max')) > limit, 'fs.file-max must exceed one process limit');
  assert.ok(Number(sysctl.get('net.core.somaxconn')) >= 4096, 'somaxconn too low for reconnect bursts');
  const [low, high] = (sysctl.get('net.ipv4.ip_local_port_range') ?? '').split(' ').map(Number);
  assert.ok(low >= 1024 && high <= 65_535 && high - low >= 30_000, `port range ${low}-${high}`);
});

test('systemd-analyze verify accepts the unit without a single complaint', (t) => {
  // A copy whose /opt/chat paths point at a directory that exists here, with a
  // real node behind bin/node; everything else is verified as shipped. The
  // user "chat" need not exist: verify does not resolve users.
  const dir = mkdtempSync(join(tmpdir(), 'chat-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const install = join(dir, 'opt-chat');
  mkdirSync(join(install, 'bin'), { recursive: true });
  symlinkSync(process.execPath, join(install, 'bin', 'node'));
  const text = readFileSync(UNIT_PATH, 'utf8').replaceAll(INSTALL_DIR, relocate(INSTALL_DIR, install));
  const copy = join(dir, 'chat.service');
  writeFileSync(copy, text);
  assert.ok(existsSync('/usr/bin/systemd-analyze'), 'systemd-analyze missing (Debian package systemd)');

  const verify = (path: string) => spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
  const result = verify(copy);
  assert.equal(result.status, 0, result.stderr);
  // Unknown keys and bad values are only warnings: any output at all fails.
  assert.equal(`${result.stdout}${result.stderr}`.trim(), '');

  // And it does catch a broken setting, so the silence above means something.
  writeFileSync(copy, text.replace('ProtectSystem=strict', 'ProtectSystem=stric'));
  assert.match(verify(copy).stderr, /protect system value/i);
});
