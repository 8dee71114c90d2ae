// Recording stand-in for npm, used by the workflow runner: `npm ci` (node_modules
// is already linked) and `npm run loadtest` (its target is a deployment that does
// not exist here; k6 itself is tested in test/loadtest) are recorded only;
// everything else goes to the real npm ($STANDIN_REAL_NPM).
import { spawnSync } from 'node:child_process';
import { record } from './record.mjs';

const args = process.argv.slice(2);
const script = args[0] === 'run' ? args.find((a, i) => i > 0 && !a.startsWith('-')) : undefined;
if (args[0] === 'ci' || script === 'loadtest') {
  record('npm', { exitCode: 0 });
  process.exit(0);
}
const real = spawnSync(process.env.STANDIN_REAL_NPM ?? 'npm', args, { stdio: 'inherit' });
process.exit(real.status ?? 1);
