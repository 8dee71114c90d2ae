// Recording stand-in for the GitHub CLI: answers the API calls the deploy
// workflow makes from files under $STANDIN_DIR/github/ (environments/<name>.json)
// and the artifact store the workflow runner fills ($STANDIN_DIR/artifacts/<name>/).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { record, standinDir } from './record.mjs';

const root = standinDir();
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

function answer(json) {
  const jq = option('--jq');
  if (jq === undefined) return process.stdout.write(`${JSON.stringify(json)}\n`);
  // gh --jq prints strings raw, like jq -r.
  const result = spawnSync('jq', ['-r', jq], { input: JSON.stringify(json), encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(result.stderr);
    done(1);
  }
  process.stdout.write(result.stdout);
}

function done(code) {
  record('gh', { exitCode: code, token: process.env.GH_TOKEN ? 'set' : 'unset' });
  process.exit(code);
}

function notFound() {
  process.stderr.write('gh: Not Found (HTTP 404)\n');
  done(1);
}

const artifacts = join(root, 'artifacts');
if (args[0] === 'api') {
  const url = new URL(args[1], 'https://api.github.com/');
  let match;
  if ((match = /^\/repos\/[^/]+\/[^/]+\/environments\/([^/]+)$/.exec(url.pathname))) {
    const file = join(root, 'github', 'environments', `${match[1]}.json`);
    if (!existsSync(file)) notFound();
    answer(JSON.parse(readFileSync(file, 'utf8')));
  } else if (/^\/repos\/[^/]+\/[^/]+\/actions\/artifacts$/.test(url.pathname)) {
    const name = url.searchParams.get('name');
    const list = existsSync(artifacts) ? readdirSync(artifacts) : [];
    const found = list
      .filter((n) => !name || n === name)
      .map((n) => JSON.parse(readFileSync(join(artifacts, n, 'meta.json'), 'utf8')))
      .map((m) => ({ id: m.id, name: m.name, expired: false, created_at: m.createdAt, workflow_run: { id: m.runId } }));
    answer({ total_count: found.length, artifacts: found });
  } else notFound();
  done(0);
} else if (args[0] === 'run' && args[1] === 'download') {
  const runId = Number(args[2]);
  const name = option('--name');
  const dir = option('--dir') ?? '.';
  const meta = join(artifacts, name ?? '', 'meta.json');
  if (!name || !existsSync(meta) || JSON.parse(readFileSync(meta, 'utf8')).runId !== runId) {
    process.stderr.write(`no artifact matches any of the names or patterns provided\n`);
    done(1);
  }
  cpSync(join(artifacts, name, 'files'), dir, { recursive: true });
  done(0);
} else {
  process.stderr.write(`gh stand-in: no answer for ${args.join(' ')}\n`);
  done(1);
}
