// One Node.js everywhere: the workflows, package.json engines and the image
// all take the version config/node.json pins (scripts/tools/node.sh installs
// it locally, packer/ puts it in the AMI).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
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
});
