// The GitHub workflows: actionlint (with shellcheck on every run: block) finds
// nothing, every action is pinned by commit, permissions are minimal, and
// deployments are serialized per environment.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = '.github/workflows';
const files = readdirSync(DIR).filter((f) => f.endsWith('.yml'));
const text = (file: string) => readFileSync(join(DIR, file), 'utf8');

/** The job blocks of a workflow, by job id (two-space indented keys under `jobs:`). */
function jobs(file: string): Record<string, string> {
  const body = text(file).split(/^jobs:\n/m)[1] ?? '';
  const result: Record<string, string> = {};
  for (const block of body.split(/^(?= {2}[A-Za-z0-9_-]+:\n)/m)) {
    const name = /^ {2}([A-Za-z0-9_-]+):/.exec(block)?.[1];
    if (name) result[name] = block;
  }
  return result;
}

describe('GitHub workflows', () => {
  it('has the pull request, deploy, drift and AMI workflows', () => {
    assert.deepEqual(files.sort(), ['ami-weekly.yml', 'ami.yml', 'deploy-environment.yml', 'deploy.yml', 'drift.yml', 'pull-request.yml']);
  });

  it('passes actionlint, shellcheck included', () => {
    const shellcheck = spawnSync('shellcheck', ['--version']);
    assert.equal(shellcheck.status, 0, 'shellcheck is installed, so actionlint checks run: blocks');
    const result = spawnSync(join('.tools', 'bin', 'actionlint'), ['-color=false', ...files.map((f) => join(DIR, f))], { encoding: 'utf8' });
    assert.equal(result.error, undefined, 'actionlint is installed by scripts/tools/actionlint.sh');
    assert.equal(result.stdout + result.stderr, '');
    assert.equal(result.status, 0);
  });

  it('pins every action by a full commit SHA, with its version in a comment', () => {
    for (const file of files) {
      for (const line of text(file).split('\n').filter((l) => /^\s*(- )?uses:/.test(l))) {
        const ref = line.replace(/^\s*(- )?uses:\s*/, '');
        if (ref.startsWith('./')) continue; // this repository's reusable workflow
        assert.match(ref, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${file}: ${ref}`);
      }
    }
  });

  it('grants read-only contents at the top and more only to the jobs that need it', () => {
    for (const file of files) {
      assert.match(text(file), /^permissions:\n {2}contents: read\n/m, `${file} defaults to read-only`);
      for (const [name, block] of Object.entries(jobs(file))) {
        // A job that calls ami.yml (the weekly rebuild) grants what ami.yml's jobs need.
        const callsAmi = block.includes('uses: ./.github/workflows/ami.yml');
        const assumesRole = block.includes('configure-aws-credentials') || block.includes('deploy-environment.yml') || callsAmi;
        assert.equal(/id-token: write/.test(block), assumesRole, `${file}/${name}: id-token only for AWS role assumption`);
        if (/pull-requests: write/.test(block) && !callsAmi) assert.match(block, /createComment|create-pull-request/, `${file}/${name}`);
        if (/security-events: write/.test(block)) assert.match(block, /upload-sarif/, `${file}/${name}`);
      }
    }
  });

  it('takes AWS credentials only from OIDC role assumption, never from stored keys', () => {
    for (const file of files) {
      assert.doesNotMatch(text(file), /aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/, file);
      for (const block of text(file).split('configure-aws-credentials').slice(1)) assert.match(block, /role-to-assume:/);
    }
  });

  it('serializes deployments per environment, behind the GitHub environment', () => {
    const deploy = text('deploy-environment.yml');
    assert.match(deploy, /concurrency:\n {6}group: deploy-\$\{\{ inputs\.environment \}\}\n {6}cancel-in-progress: false/);
    assert.match(deploy, /environment:\n {6}name: \$\{\{ inputs\.environment \}\}/);
    assert.match(deploy, /npm run loadtest -- --target "\$TARGET" --scenario smoke --results k6-results --expect-instances "\$INSTANCES" --tokens "\$RUNNER_TEMP\/k6-tokens"$/m);
    assert.match(deploy, /npm run secrets -- tokens "\$ENVIRONMENT" "\$RUNNER_TEMP\/k6-tokens"$/m);
    assert.doesNotMatch(deploy, /auto-approve|npm run deploy/, 'the deploy applies the saved plan, never a fresh one');
    assert.match(text('deploy.yml'), /prod:\n {4}needs: dev/);
  });

  it('plans every environment on pull requests into one sticky comment made by the summarizer', () => {
    const pr = text('pull-request.yml');
    assert.match(pr, /bash scripts\/infra\/saved-plan\.sh plan "\$ENVIRONMENT" saved-plan/);
    assert.match(pr, /name: plan-\$\{\{ matrix\.environment \}\}-\$\{\{ github\.sha \}\}/);
    assert.doesNotMatch(pr, /-lock=false/);
    assert.match(pr, /<!-- chat-plan-summary -->/);
    assert.match(pr, /updateComment/);
    assert.match(pr, /bash scripts\/infra\/checkov\.sh --sarif-dir checkov-sarif/);
  });

  it('keeps GitHub expressions out of run: blocks (they go through env:)', () => {
    for (const file of files) {
      for (const [name, block] of Object.entries(jobs(file))) {
        for (const run of block.split(/^\s+(?:- )?run: /m).slice(1)) {
          const body = run.split(/^\s+(?:- )?(?:uses|name|with|env|id|if):/m)[0];
          assert.doesNotMatch(body, /\$\{\{/, `${file}/${name}`);
        }
      }
    }
  });

  it('builds the AMI when the service or image changes and proposes the bump by pull request', () => {
    const ami = text('ami.yml');
    assert.match(ami, /paths: \['service\/\*\*', 'packer\/\*\*'/);
    assert.match(ami, /tags: \['v\*'\]/);
    assert.match(ami, /config\/ami\.json/);
    assert.match(ami, /create-pull-request@/);
  });
});
