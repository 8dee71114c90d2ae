// Answers questions about config/environments.ts for the shell scripts and workflows:
//   tsx scripts/infra/environment.ts protected ENV   exit 0 when ENV (or foundation) is protected, 1 when not
//   tsx scripts/infra/environment.ts names           the environment names, one a line
// An unknown environment exits 2 naming the known ones.
import { environments } from '../../config/environments.js';
import { validateEnvironments } from '../../config/validate.js';

function main(argv: string[]): number {
  const valid = validateEnvironments(environments);
  const [question, name] = argv;
  if (question === 'names') {
    process.stdout.write(valid.map((e) => `${e.name}\n`).join(''));
    return 0;
  }
  if (question === 'protected' && name) {
    // The foundation holds every environment's state and its key: it outlives them all.
    if (name === 'foundation') return 0;
    const env = valid.find((e) => e.name === name);
    if (!env) {
      process.stderr.write(`unknown environment '${name}' (known: ${valid.map((e) => e.name).join(', ')})\n`);
      return 2;
    }
    return env.protect ? 0 : 1;
  }
  process.stderr.write('usage: environment.ts protected ENV | names\n');
  return 2;
}

process.exitCode = main(process.argv.slice(2));
