// Every shell script in the repo passes shellcheck: each tracked *.sh, the CI
// entry .ci/run, and any other tracked file that starts with a shell shebang
// (such as the helpers the AMI installs under /opt/chat/bin).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHELL_SHEBANG = /^#!\s*(?:\/usr\/bin\/env\s+)?(?:\/(?:usr\/)?bin\/)?(?:ba|da|k)?sh\b/;

function firstLine(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(128);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read).toString('utf8').split('\n')[0];
  } finally {
    closeSync(fd);
  }
}

function shellScripts(): string[] {
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  return tracked.filter((file) => {
    const path = join(REPO_ROOT, file);
    let isFile = false;
    try {
      isFile = statSync(path).isFile(); // a file deleted in the work tree is not checked
    } catch {
      return false;
    }
    return isFile && (file.endsWith('.sh') || file === '.ci/run' || SHELL_SHEBANG.test(firstLine(path)));
  });
}

function shellcheck(files: string[], cwd = REPO_ROOT) {
  return spawnSync('shellcheck', ['--format=gcc', '--external-sources', ...files], { cwd, encoding: 'utf8' });
}

test('shellcheck is installed and finds a real problem', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-shellcheck-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bad.sh'), '#!/usr/bin/env bash\nrm -rf $1/*\n');
  const result = shellcheck(['bad.sh'], dir);
  assert.equal(result.error, undefined, 'shellcheck missing (Debian package shellcheck)');
  assert.notEqual(result.status, 0);
  assert.match(result.stdout, /SC2086/);
});

test('every shell script in the repo passes shellcheck', () => {
  const files = shellScripts();
  for (const expected of ['.ci/run', 'scripts/bootstrap.sh', 'scripts/test.sh', 'scripts/bundle.sh', 'packer/build.sh', 'packer/files/chat-configure-logs']) {
    assert.ok(files.includes(expected), `${expected} was not found among the shell scripts`);
  }
  const result = shellcheck(files);
  assert.equal(result.status, 0, `shellcheck found problems:\n${result.stdout}${result.stderr}`);
});

test('every shell script stops on the first error', () => {
  // bash with errexit, nounset and pipefail: a failing step never goes unnoticed.
  const lax = shellScripts().filter((file) => !/^set -euo pipefail$/m.test(readFileSync(join(REPO_ROOT, file), 'utf8')));
  assert.deepEqual(lax, []);
});
