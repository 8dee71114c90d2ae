// Every rule of the plan review, on a plan that must warn and a near miss
// that must not. The plans are `terraform show -json` format 1.2, written by
// hand (fixtures/rules/<rule>.json and <rule>.near-miss.json). Each positive
// plan is caught by its own rule alone: run without that rule, nothing flags it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePlan } from '../../tools/plan-summary/plan.js';
import { findRisks, type Risk } from '../../tools/plan-summary/risks.js';
import { RULES } from '../../tools/plan-summary/rules.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'rules');
/** An account the fixtures trust through --known-account rather than through the plan itself. */
const KNOWN = ['444455556666'];
const load = (name: string) => parsePlan(readFileSync(join(FIXTURES, name), 'utf8'), name);
const rows = (risks: Risk[]) => risks.map((r) => [r.address, r.detail]);

/** What each rule must find in its positive fixture: [address, detail]. */
const EXPECTED: Record<string, Array<[string, string | RegExp]>> = {
  'iam-wildcard': [
    ['aws_iam_policy.deployer', 'statement EverythingButIam allows every action except iam:*, organizations:*'],
    ['aws_iam_role_policy.instance', 'statement Debug allows wildcard action *'],
    ['aws_iam_role_policy.instance', 'statement Debug applies to wildcard resource * (*)'],
  ],
  'trust-open': [
    ['aws_iam_role.deploy', 'trust policy: statement #1 trusts GitHub OIDC tokens without a `sub` condition pinned to one repository'],
    ['aws_iam_role.support', 'trust policy: statement VendorSupport trusts account 999988887777, not a known account (known: 111122223333, 444455556666)'],
    ['aws_iam_role.support', 'trust policy: statement Anyone is open to any principal ("*")'],
  ],
};

describe('plan review rules', () => {
  it('have unique ids, and each has expectations here', () => {
    const ids = RULES.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(Object.keys(EXPECTED).sort(), [...ids].sort());
  });

  for (const rule of RULES) {
    describe(rule.id, () => {
      it(`finds what it is for (${rule.severity})`, () => {
        const risks = findRisks(load(`${rule.id}.json`), { knownAccounts: KNOWN });
        const mine = risks.filter((r) => r.rule === rule.id);
        assert.ok(mine.every((r) => r.severity === rule.severity));
        const expected = EXPECTED[rule.id] ?? [];
        assert.equal(mine.length, expected.length, JSON.stringify(rows(mine), null, 1));
        expected.forEach(([address, detail], i) => {
          assert.equal(mine[i].address, address);
          if (typeof detail === 'string') assert.equal(mine[i].detail, detail);
          else assert.match(mine[i].detail, detail);
        });
      });
      it('is the rule that catches it: without it, nothing is flagged there', () => {
        const others = RULES.filter((r) => r !== rule);
        const addresses = new Set((EXPECTED[rule.id] ?? []).map(([address]) => address));
        const left = findRisks(load(`${rule.id}.json`), { knownAccounts: KNOWN, rules: others }).filter((r) => addresses.has(r.address));
        assert.deepEqual(rows(left), []);
      });
      it('stays quiet on the near miss', () => {
        assert.deepEqual(rows(findRisks(load(`${rule.id}.near-miss.json`), { knownAccounts: KNOWN })), []);
      });
    });
  }
});
