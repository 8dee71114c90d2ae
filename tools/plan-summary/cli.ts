// npm run --silent plan:summary -- PLAN.json [--title TEXT]
// Markdown on stdout; exit 0 (also for an empty plan), 1 for anything that is not a plan.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parsePlan, PlanError } from './plan.js';
import { findRisks } from './risks.js';
import { renderSummary } from './render.js';

function main(): number {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { title: { type: 'string' } } });
  if (positionals.length !== 1) {
    process.stderr.write('usage: npm run --silent plan:summary -- PLAN.json [--title TEXT]\n  PLAN.json: terraform show -json <planfile> > PLAN.json\n');
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
    process.stdout.write(renderSummary(plan, findRisks(plan.changes), values.title));
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
