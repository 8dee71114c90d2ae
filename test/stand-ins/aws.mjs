// Recording stand-in for the AWS CLI: answers the Auto Scaling questions of
// scripts/infra/wait-for-refresh.sh from $STANDIN_DIR/aws/: refreshes (one
// status a line, consumed one per call, the last one repeating) and desired;
// and keeps the Secrets Manager secrets of scripts/infra/secrets.sh in
// $STANDIN_DIR/aws/secrets/ (describe-secret, put-secret-value, and
// get-secret-value of the AWSCURRENT version): a secret exists once the stack's state holds it
// (or a test writes it), its versions and their values in its file. The record
// holds the argv and, for a value read from a file://, that file's mode, never
// the value.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { record, standinDir } from './record.mjs';

const dir = join(standinDir(), 'aws');
const args = process.argv.slice(2);
const option = (name) => args[args.indexOf(name) + 1];
const read = (file, fallback) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').trim() : fallback);

function done(code, text, extra = {}) {
  if (text !== undefined) process.stdout.write(`${text}\n`);
  record('aws', { exitCode: code, region: process.env.AWS_REGION ?? null, ...extra });
  process.exit(code);
}

// --- Secrets Manager ---------------------------------------------------------

const secretsDir = join(dir, 'secrets');
const secretFile = (id) => join(secretsDir, `${encodeURIComponent(id)}.json`);
/** The secrets the applied stacks created: every aws_secretsmanager_secret in a state file under $STANDIN_DIR. */
function createdSecretIds() {
  const ids = [];
  const walk = (path) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.tfstate')) {
        const state = JSON.parse(readFileSync(full, 'utf8'));
        // The ARN is computed: the terraform stand-in answers a reference to it with stand-in:<expression>.
        for (const r of state.resources ?? []) if (r.type === 'aws_secretsmanager_secret') ids.push(r.values?.arn ?? `stand-in:${r.type}.${r.name}.arn`);
      }
    }
  };
  if (existsSync(join(standinDir(), 's3'))) walk(join(standinDir(), 's3'));
  return ids;
}
function readSecret(id) {
  if (existsSync(secretFile(id))) return JSON.parse(readFileSync(secretFile(id), 'utf8'));
  if (createdSecretIds().includes(id)) return { arn: id, versions: [] };
  const operation = { 'describe-secret': 'DescribeSecret', 'get-secret-value': 'GetSecretValue' }[args[1]] ?? 'PutSecretValue';
  process.stderr.write(`\nAn error occurred (ResourceNotFoundException) when calling the ${operation} operation: Secrets Manager can't find the specified secret.\n`);
  return done(254);
}
function secretsManager() {
  const id = option('--secret-id');
  const secret = readSecret(id);
  if (args[1] === 'describe-secret' && option('--query') === 'VersionIdsToStages' && option('--output') === 'json') {
    const stages = Object.fromEntries(secret.versions.map((v) => [v.id, v.stages]));
    return done(0, secret.versions.length > 0 ? JSON.stringify(stages) : 'null');
  }
  if (args[1] === 'get-secret-value' && option('--query') === 'SecretString' && option('--output') === 'text') {
    // The AWSCURRENT version's value, as the CLI prints it (with a newline); a secret without one fails as AWS does.
    const current = secret.versions.find((v) => v.stages.includes('AWSCURRENT'));
    if (current === undefined) {
      process.stderr.write(`\nAn error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret value for staging label: AWSCURRENT\n`);
      return done(254);
    }
    return done(0, current.value);
  }
  if (args[1] === 'put-secret-value' && option('--query') === 'VersionId' && option('--output') === 'text') {
    const source = option('--secret-string');
    // The CLI reads file:// parameters itself; a value in argv would be visible to every process.
    if (!source?.startsWith('file://')) {
      process.stderr.write('aws stand-in: --secret-string must be file://PATH (a value in argv is visible in ps)\n');
      return done(255);
    }
    const path = source.slice('file://'.length);
    const value = readFileSync(path, 'utf8');
    const version = { id: randomUUID(), stages: ['AWSCURRENT'], value, sha256: createHash('sha256').update(value).digest('hex') };
    for (const v of secret.versions) v.stages = v.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
    secret.versions = [...secret.versions.filter((v) => v.stages.length > 0), version];
    mkdirSync(secretsDir, { recursive: true });
    writeFileSync(secretFile(id), JSON.stringify(secret, null, 2));
    return done(0, version.id, { secretFileMode: (statSync(path).mode & 0o777).toString(8) });
  }
  process.stderr.write(`aws stand-in: no answer for ${args.join(' ')}\n`);
  return done(254);
}

const call = `${args[0]} ${args[1]}`;
if (call === 'autoscaling describe-instance-refreshes' && option('--query') === 'InstanceRefreshes[0].Status' && option('--output') === 'text') {
  const statuses = read('refreshes', 'None').split('\n');
  const status = statuses.shift();
  if (statuses.length > 0) writeFileSync(join(dir, 'refreshes'), statuses.join('\n'));
  done(0, status);
} else if (call === 'autoscaling describe-auto-scaling-groups' && option('--query') === 'AutoScalingGroups[0].DesiredCapacity' && option('--output') === 'text') {
  done(0, read('desired', 'None'));
} else if (args[0] === 'secretsmanager') {
  secretsManager();
} else {
  process.stderr.write(`aws stand-in: no answer for ${args.join(' ')}\n`);
  done(254);
}
