// npm run --silent plan:summary -- PLAN.json [--title TEXT] [--known-account ID]...
// Markdown on stdout; exit 0 (also for an empty plan), 1 for anything that is not a plan, 2 for bad arguments.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parsePlan, PlanError } from './plan.js';
import { findRisks } from './risks.js';
import { renderSummary } from './render.js';

function main(): number {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { title: { type: 'string' }, 'known-account': { type: 'string', multiple: true } } });
  if (positionals.length !== 1) {
    process.stderr.write(
      'usage: npm run --silent plan:summary -- PLAN.json [--title TEXT] [--known-account ID]...\n' +
        '  PLAN.json: terraform show -json <planfile> > PLAN.json\n' +
        '  --known-account: an account trust policies may name besides the plan\'s own (repeatable)\n',
    );
    return 2;
  }
  const knownAccounts = values['known-account'] ?? [];
  const bad = knownAccounts.find((id) => !/^\d{12}$/.test(id));
  if (bad !== undefined) {
    process.stderr.write(`plan:summary: --known-account must be a 12-digit AWS account id (got ${bad})\n`);
    return 2;
  }
  const file = positionals[0];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    process.stderr.write(`plan:summary: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
    return 1;
  }
  try {
    const plan = parsePlan(text, file);
    process.stdout.write(renderSummary(plan, findRisks(plan, { knownAccounts }), values.title));
    return 0;
  } catch (error) {
    if (error instanceof PlanError) {
      process.stderr.write(`plan:summary: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = main();
