// Every deploy, destroy, synth and infra-script command that docs/deploy.md,
// the README's deploy section and CONTRIBUTING.md show is one a test runs:
// either a command of test/infra/documented-commands.ts (run through the
// terraform stand-in) or, with the environment written as the workflow's
// variable, a `run:` line of a workflow that test/workflows/delivery.test.ts runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { COMMANDS } from './documented-commands.js';

const DELIVERY_WORKFLOWS = ['pull-request.yml', 'deploy-environment.yml', 'drift.yml'];
const CHECKED = /^(FOUNDATION_BOOTSTRAP=1 )?npm run (deploy|destroy|synth|secrets)\b|^bash scripts\/infra\/|^(url=\$\()?terraform /;

/** Command lines of the fenced sh blocks, without trailing comments. */
function shellLines(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(heading);
  assert.ok(start >= 0, heading);
  const next = markdown.indexOf('\n## ', start + heading.length);
  return markdown.slice(start, next < 0 ? undefined : next);
}

const workflowRuns = DELIVERY_WORKFLOWS.flatMap((file) =>
  readFileSync(`.github/workflows/${file}`, 'utf8').split('\n').map((l) => l.replace(/^\s*(- )?run: /, '').trim()),
);
/** The docs write the environment out; the workflows take it from a variable. */
const asWorkflowLine = (line: string) => line.replace(/ chat-(dev|prod)\b/, ' "$ASG"').replace(/ (dev|prod)\b/, ' "$ENVIRONMENT"');
const documented = new Set<string>(Object.values(COMMANDS));

describe('commands in the docs are run by tests', () => {
  const sources = {
    'docs/deploy.md': readFileSync('docs/deploy.md', 'utf8'),
    'README.md (Deploying to AWS)': section(readFileSync('README.md', 'utf8'), '## Deploying to AWS'),
    'CONTRIBUTING.md': readFileSync('CONTRIBUTING.md', 'utf8'),
  };
  for (const [name, markdown] of Object.entries(sources)) {
    test(name, () => {
      const lines = shellLines(markdown).filter((l) => CHECKED.test(l));
      assert.ok(name === 'CONTRIBUTING.md' || lines.length > 0, 'has deploy commands');
      for (const line of lines) {
        const run = documented.has(line) || workflowRuns.some((r) => r === line || r.includes(asWorkflowLine(line)));
        assert.ok(run, `${name} shows a command no test runs: ${line}`);
      }
    });
  }
});
