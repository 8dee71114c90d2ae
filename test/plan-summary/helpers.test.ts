// The pieces the review rules stand on: ranking TLS policies, the width of a
// CIDR range, and reading IAM policy documents in every shape IAM accepts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compare, grade } from '../../tools/plan-summary/tls-policy.js';
import { isWide, prefixLength } from '../../tools/plan-summary/network.js';
import { accountOf, openPrincipals, wildcardGrants } from '../../tools/plan-summary/policy.js';

describe('TLS policy ranking', () => {
  // Weakest first, as a reviewer should read them.
  const ascending = [
    'ELBSecurityPolicy-2015-05',
    'ELBSecurityPolicy-2016-08',
    'ELBSecurityPolicy-FS-2018-06',
    'ELBSecurityPolicy-TLS13-1-0-2021-06',
    'ELBSecurityPolicy-TLS-1-1-2017-01',
    'ELBSecurityPolicy-FS-1-1-2019-08',
    'ELBSecurityPolicy-TLS13-1-1-2021-06',
    'ELBSecurityPolicy-TLS-1-2-Ext-2018-06',
    'ELBSecurityPolicy-TLS-1-2-2017-01',
    'ELBSecurityPolicy-FS-1-2-2019-08',
    'ELBSecurityPolicy-FS-1-2-Res-2020-10',
    'ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06',
    'ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06',
    'ELBSecurityPolicy-TLS13-1-2-2021-06',
    'ELBSecurityPolicy-TLS13-1-2-PQ-2025-09',
    'ELBSecurityPolicy-TLS13-1-2-Res-2021-06',
    'ELBSecurityPolicy-TLS13-1-3-2021-06',
  ];
  it('knows every policy of the table and orders them weakest to strongest', () => {
    const grades = ascending.map((name) => grade(name) ?? assert.fail(`${name} is not ranked`));
    for (let i = 1; i < grades.length; i++) assert.ok(compare(grades[i - 1], grades[i]) < 0, `${ascending[i - 1]} < ${ascending[i]}`);
  });
  it('does not rank a name it does not know', () => {
    assert.equal(grade('ELBSecurityPolicy-Custom'), undefined);
    assert.equal(grade('ELBSecurityPolicy-TLS13-1-9-2021-06'), undefined);
  });
});

describe('CIDR width', () => {
  it('takes wider than /8 as wide, in IPv4 and IPv6', () => {
    for (const cidr of ['0.0.0.0/0', '0.0.0.0/1', '128.0.0.0/2', '::/0', '2000::/3', '10.0.0.0/7']) assert.ok(isWide(cidr), cidr);
    for (const cidr of ['10.0.0.0/8', '192.168.0.0/16', '2001:db8::/32', '::/8', 'sg-0123', '10.0.0.0/33']) assert.ok(!isWide(cidr), cidr);
  });
  it('reads the prefix length, refusing one too long for the family', () => {
    assert.equal(prefixLength('2001:db8::/129'), undefined);
    assert.equal(prefixLength('2001:db8::/64'), 64);
  });
});

describe('policy documents', () => {
  it('reads Statement as one object and Action as a string, and ignores Deny', () => {
    const single = JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::*' } });
    assert.deepEqual(wildcardGrants(single), ['statement #1 allows wildcard action s3:*', 'statement #1 applies to wildcard resource arn:aws:s3:::* (s3:*)']);
    const deny = JSON.stringify({ Statement: [{ Effect: 'Deny', NotAction: 'iam:*', NotResource: '*' }] });
    assert.deepEqual(wildcardGrants(deny), []);
  });
  it('reads NotResource, and returns nothing for text that is not a policy', () => {
    const doc = JSON.stringify({ Statement: [{ Sid: 'All', Effect: 'Allow', Action: ['ec2:StartInstances'], NotResource: ['arn:aws:ec2:*:*:instance/i-0prod'] }] });
    assert.deepEqual(wildcardGrants(doc), ['statement All applies to every resource except arn:aws:ec2:*:*:instance/i-0prod']);
    assert.deepEqual(wildcardGrants('not json'), []);
    assert.deepEqual(wildcardGrants('{"Version":"2012-10-17"}'), []);
  });
  it('takes accounts from bare ids and from ARNs, and names who a trust lets in', () => {
    assert.equal(accountOf('123456789012'), '123456789012');
    assert.equal(accountOf('arn:aws-us-gov:iam::123456789012:role/x'), '123456789012');
    assert.equal(accountOf('AROAEXAMPLE'), undefined);
    const trust = JSON.stringify({
      Statement: [
        { Sid: 'Bare', Effect: 'Allow', Principal: { AWS: ['123456789012', 'arn:aws:iam::111122223333:root'] }, Action: 'sts:AssumeRole' },
        { Sid: 'Everyone', Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } } },
        { Sid: 'Others', Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'sts:AssumeRole' },
        { Sid: 'Pinned', Effect: 'Allow', Principal: { Federated: 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com' }, Action: 'sts:AssumeRoleWithWebIdentity', Condition: { StringEquals: { 'token.actions.githubusercontent.com:sub': 'repo:example/chat:environment:prod' } } },
        { Sid: 'Service', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    });
    assert.deepEqual(openPrincipals(trust, new Set(['111122223333'])), [
      'statement Bare trusts account 123456789012, not a known account (known: 111122223333)',
      'statement Everyone is open to any principal ("*"), limited only by conditions on aws:PrincipalOrgID',
      'statement Others allows every principal except those listed (NotPrincipal)',
    ]);
  });
});
