// Runs the rules (rules.ts) over every resource change of a plan.
import type { Plan } from './plan.js';
import { accountOf } from './policy.js';
import { loadBalancerGroups } from './network.js';
import { RULES, type Rule, type Severity } from './rules.js';

export interface Risk {
  rule: string;
  severity: Severity;
  address: string;
  detail: string;
}

export interface RiskOptions {
  /** Accounts trusted besides the plan's own (--known-account). */
  knownAccounts?: readonly string[];
  /** The rule table; tests pass it without one rule to show that rule is what catches a fixture. */
  rules?: readonly Rule[];
}

/**
 * The plan's own accounts: the caller identity Terraform planned with and the
 * account of every ARN it already manages (prior state, planned values).
 */
export function planAccounts(plan: Plan): Set<string> {
  const accounts = new Set<string>();
  for (const resource of plan.knownValues) {
    const { values } = resource;
    if (resource.type === 'aws_caller_identity' && typeof values.account_id === 'string') accounts.add(values.account_id);
    const account = typeof values.arn === 'string' ? accountOf(values.arn) : undefined;
    if (account !== undefined) accounts.add(account);
  }
  return accounts;
}

export function findRisks(plan: Plan, options: RiskOptions = {}): Risk[] {
  const context = {
    plan,
    knownAccounts: new Set([...planAccounts(plan), ...(options.knownAccounts ?? [])]),
    loadBalancerGroups: loadBalancerGroups(plan),
  };
  const risks: Risk[] = [];
  for (const change of plan.changes) {
    for (const rule of options.rules ?? RULES) {
      for (const detail of rule.check(change, context)) risks.push({ rule: rule.id, severity: rule.severity, address: change.address, detail });
    }
  }
  return risks;
}
