// Recording stand-in for the AWS CLI: answers the Auto Scaling questions of
// scripts/infra/wait-for-refresh.sh from $STANDIN_DIR/aws/: refreshes (one
// status a line, consumed one per call, the last one repeating) and desired.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { record, standinDir } from './record.mjs';

const dir = join(standinDir(), 'aws');
const args = process.argv.slice(2);
const option = (name) => args[args.indexOf(name) + 1];
const read = (file, fallback) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').trim() : fallback);

function done(code, text) {
  if (text !== undefined) process.stdout.write(`${text}\n`);
  record('aws', { exitCode: code, region: process.env.AWS_REGION ?? null });
  process.exit(code);
}

const call = `${args[0]} ${args[1]}`;
if (call === 'autoscaling describe-instance-refreshes' && option('--query') === 'InstanceRefreshes[0].Status' && option('--output') === 'text') {
  const statuses = read('refreshes', 'None').split('\n');
  const status = statuses.shift();
  if (statuses.length > 0) writeFileSync(join(dir, 'refreshes'), statuses.join('\n'));
  done(0, status);
} else if (call === 'autoscaling describe-auto-scaling-groups' && option('--query') === 'AutoScalingGroups[0].DesiredCapacity' && option('--output') === 'text') {
  done(0, read('desired', 'None'));
} else {
  process.stderr.write(`aws stand-in: no answer for ${args.join(' ')}\n`);
  done(254);
}
