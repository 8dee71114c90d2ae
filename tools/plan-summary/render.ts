// The Markdown a reviewer reads in the pull request.
import type { Action, Plan } from './plan.js';
import type { Risk } from './risks.js';

const COUNTED: Action[] = ['create', 'update', 'replace', 'delete'];
/** Listed with the changed resources but not counted: the resource stays in the account. */
const LISTED: Action[] = [...COUNTED, 'forget'];
const SYMBOL: Record<Action, string> = { create: '+', update: '~', replace: '-/+', delete: '-', forget: '.', 'no-op': ' ', read: '<=' };

const outputsLine = (names: string[]) => `Outputs that change: ${names.map((name) => `\`${name}\``).join(', ')}.`;

export function renderSummary(plan: Plan, risks: Risk[], title = 'Terraform plan'): string {
  const listed = plan.changes.filter((change) => LISTED.includes(change.action));
  const changed = listed.filter((change) => COUNTED.includes(change.action));
  if (listed.length === 0) {
    const detail = plan.changedOutputs.length > 0 ? `No resource changes. ${outputsLine(plan.changedOutputs)}` : 'No changes. The infrastructure matches the configuration.';
    return `### ${title}\n\n${detail}\n`;
  }

  const lines = [`### ${title}`, ''];
  const warnings = risks.filter((risk) => risk.severity === 'warning');
  const notices = risks.filter((risk) => risk.severity === 'notice');
  if (warnings.length > 0) {
    lines.push(`> [!WARNING]`, `> **${warnings.length} risky change${warnings.length === 1 ? '' : 's'}: read before approving.**`);
    for (const risk of warnings) lines.push(`> - \`${risk.address}\` ${risk.detail}`);
    lines.push('');
  }
  if (notices.length > 0) {
    lines.push(`> [!NOTE]`, `> **${notices.length} notice${notices.length === 1 ? '' : 's'}:**`);
    for (const risk of notices) lines.push(`> - \`${risk.address}\` ${risk.detail}`);
    lines.push('');
  }

  const totals = Object.fromEntries(COUNTED.map((action) => [action, changed.filter((c) => c.action === action).length]));
  const forgotten = listed.length - changed.length;
  const forgetNote = forgotten > 0 ? `; ${forgotten} to forget (removed from state, left running)` : '';
  lines.push(`**${COUNTED.map((action) => `${totals[action]} to ${action}`).join(', ')}${forgetNote}**`, '');

  const byType = new Map<string, Record<string, number>>();
  for (const change of changed) {
    const row = byType.get(change.type) ?? { create: 0, update: 0, replace: 0, delete: 0 };
    row[change.action]++;
    byType.set(change.type, row);
  }
  lines.push('| resource type | create | update | replace | delete |', '|---|---:|---:|---:|---:|');
  for (const [type, row] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`| \`${type}\` | ${COUNTED.map((action) => row[action] || '').join(' | ')} |`);
  }
  if (plan.changedOutputs.length > 0) lines.push('', outputsLine(plan.changedOutputs));
  if (plan.drifted.length > 0) lines.push('', `Changed outside Terraform since the last apply: ${plan.drifted.map((address) => `\`${address}\``).join(', ')}.`);
  lines.push('', '<details><summary>Every changed resource</summary>', '', '```diff');
  const order = (action: Action) => ['delete', 'replace', 'forget', 'update', 'create'].indexOf(action);
  for (const change of [...listed].sort((a, b) => order(a.action) - order(b.action) || a.address.localeCompare(b.address))) {
    const marker = change.action === 'delete' || change.action === 'replace' ? '-' : change.action === 'create' ? '+' : '!';
    lines.push(`${marker} ${SYMBOL[change.action].padEnd(3)} ${change.action.padEnd(7)} ${change.address}`);
  }
  lines.push('```', '', '</details>', '');
  return lines.join('\n');
}
