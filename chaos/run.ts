// `npm run chaos`: every fault scenario against a local cluster of its own,
// figures printed and written to chaos/results/<time>.json.
//   npm run chaos -- --scenario rolling-restart [--scenario kill-9 ...] [--quick] [--auth jwt]
// --quick shortens the long ones (Redis unreachable 10 s, churn 1 minute after 30 s of warm-up).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as scenarios from './scenarios.js';
import { shardFault } from './clusterScenarios.js';
import { fuzzParser } from './fuzz.js';

const { values } = parseArgs({
  options: { scenario: { type: 'string', multiple: true }, quick: { type: 'boolean', default: false }, auth: { type: 'string', default: 'none' } },
});
const quick = values.quick!;
// --auth jwt: the clusters take tokens (AUTH_MODE=jwt) and the clients pass them.
if (values.auth !== 'none' && values.auth !== 'jwt') throw new Error(`--auth must be none or jwt (got ${values.auth})`);
scenarios.useAuth(values.auth);

const ALL: Record<string, () => Promise<scenarios.Figures>> = {
  'rolling-restart': scenarios.rollingRestart,
  'kill-9': scenarios.killInstance,
  'redis-restart': () => scenarios.redisRestart(),
  'redis-unreachable': () => scenarios.redisUnreachable(quick ? 10 : 60),
  flood: () => scenarios.flood(),
  'bad-frames': scenarios.badFrames,
  'half-open': () => scenarios.halfOpen(),
  slowloris: () => scenarios.slowloris(),
  churn: () => scenarios.churn(5000, quick ? 1 : 10, quick ? 0.5 : 5),
  // A sharded Redis (REDIS_MODE=cluster, 3 primaries with a replica each).
  'cluster-failover': () => shardFault('failover'),
  'cluster-kill-primary': () => shardFault('kill-primary'),
  'cluster-reshard': () => shardFault('reshard'),
  fuzz: async () => {
    const started = Date.now();
    const { runs } = fuzzParser(100_000);
    return { scenario: 'fuzz', inputs: runs, crashes: 0, ms: Date.now() - started };
  },
};

const chosen = values.scenario ?? Object.keys(ALL);
for (const name of chosen) if (!(name in ALL)) throw new Error(`unknown scenario ${name}; one of ${Object.keys(ALL).join(', ')}`);

const results: scenarios.Figures[] = [];
for (const name of chosen) {
  const started = Date.now();
  process.stdout.write(`chaos: ${name} ...\n`);
  const figures = await ALL[name]();
  results.push({ ...figures, tookSeconds: Math.round((Date.now() - started) / 1000) });
  process.stdout.write(`${JSON.stringify(results.at(-1))}\n`);
}
// One small committed summary per scenario: the figures docs/reliability.md quotes.
const summaries = join(fileURLToPath(new URL('..', import.meta.url)), 'docs', 'results', 'reliability');
mkdirSync(summaries, { recursive: true });
for (const figures of results) {
  const { timeline: _timeline, cold: _cold, ...small } = figures;
  writeFileSync(join(summaries, `${figures.scenario}.json`), `${JSON.stringify({ date: new Date().toISOString().slice(0, 10), quick, ...small }, null, 2)}\n`);
}
const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`chaos: figures in ${file}\n`);
process.exit(0);
