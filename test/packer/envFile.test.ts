// The EnvironmentFile reader used to start the bundle "as systemd would" must
// read files the way systemd does. systemd's environment.d generator uses the
// same parser, so the reader is checked against systemd itself here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvironmentFile } from './systemdFiles.js';

const GENERATOR = '/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator';

// Every rule the reader claims to follow, on keys prefixed T_ so that system
// environment.d files on the machine do not interfere. No '$': environment.d
// expands variables, an EnvironmentFile does not. No empty value either:
// environment.d takes KEY= as "unset", an EnvironmentFile as "empty".
const SAMPLE = [
  '# a comment \\',
  'T_HIDDEN=continued comment line',
  '; another comment',
  'T_PLAIN=1',
  '  T_SPACED  =   two words   ',
  "T_SINGLE='single # kept  \\n'",
  'T_DOUBLE="double \\"quoted\\" \\\\ and \\n kept"',
  'T_JOINED=first\\',
  'second',
  'T_ESCAPED=a\\ b\\#c',
  "T_AFTER='x'  y\"z\"",
  'T_URL=rediss://:Abc123xyz@master.chat.abc123.euw1.cache.amazonaws.com:6379',
  '9T_BAD=ignored',
  'T_NO_EQUALS',
  'T_LAST=one',
  'T_LAST=two',
].join('\n');

function systemdReads(content: string): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'chat-envd-'));
  try {
    mkdirSync(join(home, 'environment.d'));
    writeFileSync(join(home, 'environment.d', 'chat.conf'), content);
    const run = spawnSync(GENERATOR, [], {
      env: { XDG_CONFIG_HOME: home, HOME: home, PATH: '/usr/bin:/bin' },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    // The generator prints KEY=value lines in the same format, quoting where needed.
    const all = parseEnvironmentFile(run.stdout);
    return Object.fromEntries(Object.entries(all).filter(([key]) => key.startsWith('T_')));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

test('systemd generator is there to compare with', () => {
  assert.ok(existsSync(GENERATOR), `${GENERATOR} missing (Debian package systemd)`);
});

test('the EnvironmentFile reader agrees with systemd on every rule', () => {
  const ours = Object.fromEntries(Object.entries(parseEnvironmentFile(SAMPLE)).filter(([key]) => key.startsWith('T_')));
  assert.deepEqual(ours, systemdReads(SAMPLE));
  // And says what it was meant to say, so agreement is not agreement on nothing.
  assert.equal(ours.T_SPACED, 'two words');
  assert.equal(ours.T_JOINED, 'firstsecond');
  assert.equal(ours.T_AFTER, 'xy"z"'); // a quote is only special where a value starts
  assert.equal(ours.T_LAST, 'two');
  assert.equal(ours.T_URL, 'rediss://:Abc123xyz@master.chat.abc123.euw1.cache.amazonaws.com:6379');
  assert.equal('T_HIDDEN' in ours, false);
  assert.equal('T_NO_EQUALS' in ours, false);
});

test('an empty assignment sets an empty value', () => {
  assert.deepEqual(parseEnvironmentFile('A=\nB=2\n'), { A: '', B: '2' });
});
