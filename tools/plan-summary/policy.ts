// IAM policy documents as they sit in a plan: JSON strings inside attributes
// (aws_iam_role.assume_role_policy, aws_iam_role_policy.policy, …). Action,
// Resource and Principal values may be a string or a list; Statement may be
// one object or a list.
import { isObject } from './plan.js';
import { strings } from './values.js';

interface Statement {
  label: string;
  effect: string;
  actions: string[];
  notActions: string[] | undefined;
  resources: string[];
  notResources: string[] | undefined;
  principal: unknown;
  notPrincipal: unknown;
  conditionKeys: Array<{ operator: string; key: string; values: string[] }>;
}

/** The statements of a policy document, or undefined when it is not one (not JSON, or no Statement). */
export function statements(document: unknown): Statement[] | undefined {
  let parsed: unknown = document;
  if (typeof document === 'string') {
    try {
      parsed = JSON.parse(document);
    } catch {
      return undefined;
    }
  }
  if (!isObject(parsed) || parsed.Statement === undefined) return undefined;
  const list = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
  return list.filter(isObject).map((s, index) => ({
    label: typeof s.Sid === 'string' && s.Sid !== '' ? s.Sid : `#${index + 1}`,
    effect: String(s.Effect ?? ''),
    actions: strings(s.Action),
    notActions: s.NotAction === undefined ? undefined : strings(s.NotAction),
    resources: strings(s.Resource),
    notResources: s.NotResource === undefined ? undefined : strings(s.NotResource),
    principal: s.Principal,
    notPrincipal: s.NotPrincipal,
    conditionKeys: Object.entries(isObject(s.Condition) ? s.Condition : {}).flatMap(([operator, block]) =>
      Object.entries(isObject(block) ? block : {}).map(([key, values]) => ({ operator, key, values: strings(values) })),
    ),
  }));
}

/** "*" or an ARN whose resource part is "*": every resource of a service (arn:aws:s3:::*). */
const everyResource = (resource: string) => resource === '*' || /^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$/.test(resource);

/** What an identity policy's Allow statements grant on wildcards: one line per finding. */
export function wildcardGrants(document: unknown): string[] {
  const found: string[] = [];
  for (const s of statements(document) ?? []) {
    if (s.effect !== 'Allow') continue; // a Deny with wildcards only narrows
    if (s.notActions !== undefined) found.push(`statement ${s.label} allows every action except ${s.notActions.join(', ')}`);
    const wild = s.actions.filter((action) => action.includes('*'));
    if (wild.length > 0) found.push(`statement ${s.label} allows wildcard action ${wild.join(', ')}`);
    if (s.notResources !== undefined) found.push(`statement ${s.label} applies to every resource except ${s.notResources.join(', ')}`);
    const every = s.resources.filter(everyResource);
    if (every.length > 0) found.push(`statement ${s.label} applies to wildcard resource ${every.join(', ')} (${[...s.actions, ...(s.notActions ?? [])].join(', ')})`);
  }
  return found;
}

/** The 12-digit account of "123456789012" or "arn:aws:iam::123456789012:…", else undefined. */
export function accountOf(value: string): string | undefined {
  if (/^\d{12}$/.test(value)) return value;
  return /^arn:[^:]+:[^:]*:[^:]*:(\d{12}):/.exec(value)?.[1];
}

const GITHUB_OIDC = /token\.actions\.githubusercontent\.com$/;

/**
 * Who an Allow statement lets in beyond the known accounts: everyone ("*"),
 * another account, every GitHub repository (an OIDC trust with no `sub`
 * condition), or everyone but a list (NotPrincipal).
 */
export function openPrincipals(document: unknown, knownAccounts: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const s of statements(document) ?? []) {
    if (s.effect !== 'Allow') continue;
    const conditions = s.conditionKeys.map((c) => c.key);
    const limited = conditions.length > 0 ? `, limited only by conditions on ${[...new Set(conditions)].join(', ')}` : '';
    if (s.notPrincipal !== undefined) found.push(`statement ${s.label} allows every principal except those listed (NotPrincipal)${limited}`);
    const principal = s.principal;
    if (principal === undefined) continue;
    const byKind: Record<string, string[]> = principal === '*' ? { AWS: ['*'] } : isObject(principal) ? Object.fromEntries(Object.entries(principal).map(([k, v]) => [k, strings(v)])) : {};
    if ((byKind.AWS ?? []).includes('*') || Object.values(byKind).some((values) => values.includes('*'))) {
      found.push(`statement ${s.label} is open to any principal ("*")${limited}`);
    }
    for (const value of byKind.AWS ?? []) {
      const account = accountOf(value);
      if (account !== undefined && !knownAccounts.has(account)) {
        const known = knownAccounts.size > 0 ? [...knownAccounts].sort().join(', ') : 'none given';
        found.push(`statement ${s.label} trusts account ${account}, not a known account (known: ${known})`);
      }
    }
    for (const provider of byKind.Federated ?? []) {
      if (!GITHUB_OIDC.test(provider)) continue;
      const subjects = s.conditionKeys.filter((c) => c.key.endsWith(':sub'));
      const pinned = subjects.length > 0 && subjects.every((c) => c.values.length > 0 && c.values.every((v) => /^repo:[^*/]+\/[^*:]+:/.test(v)));
      if (!pinned) found.push(`statement ${s.label} trusts GitHub OIDC tokens without a \`sub\` condition pinned to one repository`);
    }
  }
  return found;
}
