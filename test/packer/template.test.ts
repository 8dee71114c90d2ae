// The Packer template, checked by the pinned Packer itself: formatting, a full
// `packer validate` (no AWS call is made: the source AMI is only looked up at
// build time, and the template has no data sources), the variables' own
// validation, the pins, and the AMI name and tags the stack looks up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packerEnv, PACKER_DIR, REPO_ROOT, runPacker } from './packerTool.js';

const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
const gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();

function withBundle<T>(body: (vars: string[]) => T): T {
  // validate checks that the file to upload exists; what is in it is the
  // bundle test's business.
  const dir = mkdtempSync(join(tmpdir(), 'chat-packer-'));
  try {
    const bundle = join(dir, `chat-service-${version}.tar.gz`);
    writeFileSync(bundle, 'placeholder');
    return body(['-var', `version=${version}`, '-var', `git_commit=${gitCommit}`, '-var', `bundle_path=${bundle}`, '-var', `bundle_sha256=${'ab'.repeat(32)}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function pinned(file: string, pattern: RegExp): string {
  const match = pattern.exec(readFileSync(join(REPO_ROOT, file), 'utf8'));
  assert.ok(match, `${pattern} not found in ${file}`);
  return match[1];
}

test('the template is formatted as packer fmt would write it', () => {
  const result = runPacker(['fmt', '-check', '-diff', '-recursive', PACKER_DIR]);
  assert.equal(result.status, 0, `packer fmt -check:\n${result.stdout}${result.stderr}`);
});

test('packer validate accepts the template with the plugin the tool script installs', () => {
  withBundle((vars) => {
    const result = runPacker(['validate', ...vars, PACKER_DIR]);
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /The configuration is valid/);
  });
});

test('packer validate refuses a malformed commit or checksum', () => {
  withBundle((vars) => {
    const bad = vars.map((v) => (v.startsWith('git_commit=') ? 'git_commit=abc1234' : v.startsWith('bundle_sha256=') ? 'bundle_sha256=nothex' : v));
    const result = runPacker(['validate', ...bad, PACKER_DIR]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr + result.stdout, /40-character/);
    assert.match(result.stderr + result.stdout, /64 lower-case hex/);
  });
});

test('without the installed plugin, validate fails: the pin is really enforced', () => {
  withBundle((vars) => {
    const env = { ...packerEnv(), PACKER_PLUGIN_PATH: mkdtempSync(join(tmpdir(), 'chat-no-plugins-')) };
    try {
      const result = runPacker(['validate', ...vars, PACKER_DIR], { env });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr + result.stdout, /github\.com\/hashicorp\/amazon = 1\.3\.6/);
    } finally {
      rmSync(env.PACKER_PLUGIN_PATH, { recursive: true, force: true });
    }
  });
});

test('the template pins the same Packer and plugin versions the tool script builds', () => {
  const toolPacker = pinned('scripts/tools/packer.sh', /^readonly PACKER_VERSION=(\S+)$/m);
  const toolPlugin = pinned('scripts/tools/packer.sh', /^readonly AMAZON_PLUGIN_VERSION=(\S+)$/m);
  assert.equal(pinned('packer/plugins.pkr.hcl', /required_version\s*=\s*"= ([^"]+)"/), toolPacker);
  assert.equal(pinned('packer/plugins.pkr.hcl', /version\s*=\s*"= ([^"]+)"\s*\n\s*}/), toolPlugin);
  const version = runPacker(['version']).stdout;
  assert.match(version, new RegExp(`^Packer v${toolPacker.replaceAll('.', '\\.')}\\b`));
});

test('the AMI name and tags carry the version and commit the stack looks up, on the Node.js the tests run on', () => {
  const pin = JSON.parse(readFileSync(join(REPO_ROOT, 'config', 'node.json'), 'utf8')) as { version: string; package: string; sha256: string };
  withBundle((vars) => {
    const result = runPacker(['console', ...vars, PACKER_DIR], {
      input: 'jsonencode({ name = local.ami_name, tags = local.image_tags, node = local.node })\n',
    });
    assert.equal(result.status, 0, result.stderr);
    const evaluated = JSON.parse(result.stdout.trim()) as { name: string; tags: Record<string, string>; node: typeof pin };
    assert.match(evaluated.name, new RegExp(`^chat-service-${version.replaceAll('.', '\\.')}-${gitCommit.slice(0, 7)}-\\d{14}$`));
    assert.deepEqual(evaluated.tags, { Project: 'chat-platform', Component: 'chat-service', Version: version, GitCommit: gitCommit });
    assert.deepEqual(evaluated.node, { ...pin, integrity: (pin as { integrity?: string }).integrity });
  });
  // The image's Node.js is the exact build this suite runs on (scripts/test.sh puts it on PATH).
  assert.match(pin.version, /^24\.\d+\.\d+$/, 'Node 24 LTS');
  assert.match(pin.sha256, /^[0-9a-f]{64}$/);
  assert.equal(process.versions.node.split('.')[0], pin.version.split('.')[0], 'the suite runs on the major the image ships');
  // Those tags are the ones put on the image and its snapshots.
  const template = readFileSync(join(REPO_ROOT, 'packer', 'chat-service.pkr.hcl'), 'utf8');
  assert.match(template, /^\s*tags\s*=\s*merge\(local\.image_tags,/m);
  assert.match(template, /^\s*snapshot_tags\s*=\s*merge\(local\.image_tags,/m);
  assert.match(template, /owners\s*=\s*\["137112412989"\]/);
  assert.match(template, /post-processor "manifest"/);
  // The manifest records what the image was made from.
  assert.match(template, /^\s*source_ami\s*=\s*build\.SourceAMI$/m);
  assert.match(template, /^\s*node_version\s*=\s*local\.node\.version$/m);
  // Provisioning checks the tarball against the pin before it unpacks it.
  const provision = readFileSync(join(REPO_ROOT, 'packer', 'scripts', 'provision.sh'), 'utf8');
  assert.ok(provision.indexOf('sha256sum --check --strict') < provision.indexOf('tar -xzf "$node_tarball"'));
  for (const passed of ['NODE_VERSION=${local.node.version}', 'NODE_PACKAGE=${local.node.package}', 'NODE_SHA256=${local.node.sha256}']) {
    assert.ok(template.includes(`"${passed}"`), passed);
  }
});

test('no SSH from the internet while building, and none in the image; the boot volume is encrypted', () => {
  const template = readFileSync(join(REPO_ROOT, 'packer', 'chat-service.pkr.hcl'), 'utf8');
  // Session Manager tunnel: the plugin then adds no inbound rule to its temporary group.
  assert.match(template, /^\s*ssh_interface\s*=\s*"session_manager"$/m);
  assert.match(template, /temporary_iam_instance_profile_policy_document \{[^]*"ssmmessages:OpenDataChannel"/);
  assert.doesNotMatch(template, /temporary_security_group_source_cidrs|0\.0\.0\.0\/0/);
  assert.doesNotMatch(template, /ssh_interface\s*=\s*"public_ip"/);
  assert.match(template, /launch_block_device_mappings \{[^}]*encrypted\s*=\s*true/);
  assert.match(template, /^\s*encrypt_boot\s*=\s*true$/m);
  const cleanup = readFileSync(join(REPO_ROOT, 'packer', 'scripts', 'cleanup.sh'), 'utf8');
  assert.match(cleanup, /^systemctl disable --quiet sshd\.service$/m);
  assert.match(cleanup, /^systemctl mask --quiet sshd\.service$/m);
});

test('every file uploaded from packer/files is installed by provisioning, and the scripts run in order', () => {
  const provision = readFileSync(join(REPO_ROOT, 'packer', 'scripts', 'provision.sh'), 'utf8');
  for (const file of readdirSync(join(REPO_ROOT, 'packer', 'files'))) {
    assert.ok(provision.includes(`"$STAGING_DIR/${file}"`), `packer/files/${file} is uploaded but provision.sh never installs it`);
  }
  const template = readFileSync(join(REPO_ROOT, 'packer', 'chat-service.pkr.hcl'), 'utf8');
  const scripts = [...template.matchAll(/"\$\{path\.root\}\/(scripts\/[^"]+)"/g)].map((match) => match[1]);
  // Clean-up (no SSH keys, no staging files) must be the last thing that runs.
  assert.deepEqual(scripts, ['scripts/provision.sh', 'scripts/cleanup.sh']);
});
