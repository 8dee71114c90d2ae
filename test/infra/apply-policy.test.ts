// The foundation's deploy roles are least privilege. Every environment (the
// committed ones and variants that add resource types or a DynamoDB lock
// table) is synthesized; the IAM service prefixes its resources need are
// derived from their Terraform types, and the apply role must grant exactly
// those services, scoped to the environment, with no managed policy and no
// "*" action. The plan role reads, but never a secret value.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { environments } from '../../config/environments.js';
import { foundation } from '../../config/foundation.js';
import type { EnvironmentConfig } from '../../config/types.js';
import { dataSources, policyDocument, resources, synthesize, type Json } from './synth.js';

const base = environments.dev;
const variants: Record<string, EnvironmentConfig> = {
  // VPC endpoints instead of NAT, no flow logs, no WAF, no generated secret (JWKS, no publish API), DynamoDB locking.
  lean: {
    ...base,
    name: 'lean',
    identity: { issuer: base.identity.issuer, audience: base.identity.audience, jwksUrl: 'https://auth.example.com/.well-known/jwks.json' },
    network: { ...base.network, natMode: 'none', flowLogs: false },
    waf: { enabled: false },
    state: { backend: 's3', bucket: foundation.stateBucket, key: 'chat-lean/terraform.tfstate', region: foundation.region, dynamodbTable: 'chat-locks' },
  },
};
const all = { ...environments, ...variants };
const stacks = synthesize(all, { config: foundation, bootstrap: false });
const root = stacks.get('chat-foundation')!.json;

/** IAM service prefix of each Terraform type the stacks use; a new type fails the test until it is mapped here. */
const SERVICE_OF_RESOURCE: [RegExp, string][] = [
  [/^aws_acm_/, 'acm'],
  [/^aws_autoscaling_/, 'autoscaling'],
  [/^aws_cloudwatch_log_/, 'logs'],
  [/^aws_cloudwatch_metric_alarm$/, 'cloudwatch'],
  [/^aws_(default_security_group|eip|flow_log|internet_gateway|launch_template|nat_gateway|route|route_table|route_table_association|security_group|subnet|vpc|vpc_endpoint|vpc_security_group_(egress|ingress)_rule)$/, 'ec2'],
  [/^aws_elasticache_/, 'elasticache'],
  [/^aws_iam_/, 'iam'],
  [/^aws_kms_/, 'kms'],
  [/^aws_lb(_|$)/, 'elasticloadbalancing'],
  [/^aws_route53_/, 'route53'],
  [/^aws_s3_/, 's3'],
  [/^aws_sns_/, 'sns'],
  [/^aws_wafv2_/, 'wafv2'],
  [/^aws_secretsmanager_/, 'secretsmanager'],
];
/** Providers that make no AWS call: their resources need no permission. */
const LOCAL_RESOURCE = /^random_/;
/** Data sources that call an API needing a permission; the others are computed by the provider or free (sts:GetCallerIdentity). */
const SERVICE_OF_DATA: Record<string, string | null> = {
  aws_route53_zone: 'route53',
  aws_caller_identity: null,
  aws_partition: null,
  aws_region: null,
  aws_elb_service_account: null,
  aws_iam_policy_document: null,
  aws_availability_zones: 'ec2',
};

function neededServices(stack: Json): string[] {
  const needed = new Set<string>();
  for (const type of Object.keys(stack.resource)) {
    if (LOCAL_RESOURCE.test(type)) continue;
    const entry = SERVICE_OF_RESOURCE.find(([pattern]) => pattern.test(type));
    assert.ok(entry, `no IAM service known for resource type ${type}`);
    needed.add(entry[1]);
  }
  for (const type of Object.keys(stack.data ?? {})) {
    assert.ok(type in SERVICE_OF_DATA, `no IAM service known for data source ${type}`);
    if (SERVICE_OF_DATA[type]) needed.add(SERVICE_OF_DATA[type]);
  }
  const s3 = stack.terraform.backend.s3;
  assert.ok(s3, 'every environment keeps remote state');
  needed.add('s3');
  if (s3.encrypt) needed.add('kms'); // the bucket's default encryption is the state key
  if (s3.dynamodb_table) needed.add('dynamodb');
  return [...needed].sort();
}

const policiesOf = (role: string): Json[] =>
  resources(root, 'aws_iam_role_policy')
    .filter((p) => p.role === `\${aws_iam_role.${roleKey(role)}.id}`)
    .flatMap((p) => policyDocument(root, p.policy).statement);
const roleKey = (name: string) => Object.entries(root.resource.aws_iam_role).find(([, r]: [string, Json]) => r.name === name)![0];
const attachedTo = (role: string) => resources(root, 'aws_iam_role_policy_attachment').filter((a) => a.role.includes(`aws_iam_role.${roleKey(role)}.`));
const allows = (statements: Json[]) => statements.filter((s) => (s.effect ?? 'Allow') === 'Allow');
const serviceOf = (action: string) => action.split(':')[0];

for (const name of Object.keys(all)) {
  const prefix = `chat-${name}`;
  const stack = stacks.get(prefix)!.json;
  const apply = policiesOf(`${prefix}-apply`);

  describe(`${prefix}: apply role`, () => {
    test('no managed policy (PowerUserAccess or any other)', () => {
      assert.deepEqual(attachedTo(`${prefix}-apply`).map((a) => a.policy_arn), []);
    });

    test('grants exactly the IAM services the synthesized stack needs', () => {
      const granted = [...new Set(allows(apply).flatMap((s) => s.actions.map(serviceOf)))].sort();
      assert.deepEqual(granted, neededServices(stack));
    });

    test('no "*" action, no service wildcard on every resource', () => {
      for (const statement of apply) {
        for (const action of statement.actions) assert.notEqual(action, '*', statement.sid);
        if (statement.resources?.includes('*')) {
          for (const action of statement.actions) assert.doesNotMatch(action, /:\*$/, `${statement.sid} grants ${action} on every resource`);
        }
        assert.equal(statement.not_actions, undefined, `${statement.sid}: NotAction widens`);
      }
    });

    test('service-wide actions stay on the environment: its names where ARNs carry them, else its account and region', () => {
      for (const statement of allows(apply).filter((s) => s.actions.some((a: string) => a.endsWith(':*')))) {
        for (const resource of statement.resources) {
          assert.notEqual(resource, '*', statement.sid);
          const named = resource.includes(prefix);
          const regional = resource.includes(`:${base.region}:`) && /\$\{data\.aws_caller_identity\.[^}]+\.account_id\}|::(image|snapshot)\//.test(resource);
          assert.ok(named || regional, `${statement.sid}: ${resource}`);
        }
      }
    });

    test('IAM: only the roles the stack creates, never the deploy roles; PassRole only to the service that uses each', () => {
      const iamResources = allows(apply).filter((s) => s.actions.some((a: string) => a.startsWith('iam:') && a !== 'iam:CreateServiceLinkedRole')).flatMap((s) => s.resources);
      for (const resource of iamResources) assert.doesNotMatch(resource, new RegExp(`${prefix}-(plan|apply)|\\*`), resource);
      const created = resources(stack, 'aws_iam_role').map((r) => r.name);
      for (const role of created) assert.ok(iamResources.some((r) => r.endsWith(`:role/${role}`)), `may manage ${role}`);

      const passes = apply.filter((s) => s.actions.includes('iam:PassRole'));
      assert.ok(passes.every((s) => s.actions.length === 1), 'PassRole stands alone');
      const granted = passes.map((s) => [s.resources.map((r: string) => r.split(':role/')[1]).join(), s.condition.find((c: Json) => c.variable === 'iam:PassedToService').values.join()]);
      const passedTo: Record<string, string> = { instance: 'ec2.amazonaws.com', 'flow-logs': 'vpc-flow-logs.amazonaws.com' };
      assert.deepEqual(granted, created.map((role) => [role, passedTo[role.slice(prefix.length + 1)]]));
      const launched = resources(stack, 'aws_iam_instance_profile').map((p) => p.name);
      assert.deepEqual(launched, [`${prefix}-instance`]);
    });

    test('state: this environment key only', () => {
      const s3 = allows(apply).filter((s) => s.actions.some((a: string) => a.startsWith('s3:')));
      const key = stack.terraform.backend.s3.key;
      for (const resource of s3.flatMap((s) => s.resources)) {
        assert.ok(resource.includes(`:s3:::${prefix}-alb-logs-`) || resource.endsWith(`/${key}`) || resource.endsWith(`/${key}.tflock`) || /\}$/.test(resource), resource);
      }
    });

    test('DNS changes only at or under the environment domain', () => {
      const change = apply.find((s) => s.actions.includes('route53:ChangeResourceRecordSets'));
      assert.deepEqual(change.condition, [
        { test: 'ForAllValues:StringLike', variable: 'route53:ChangeResourceRecordSetsNormalizedRecordNames', values: [all[name as keyof typeof all].dns.domainName, `*.${all[name as keyof typeof all].dns.domainName}`] },
      ]);
    });
  });

  describe(`${prefix}: plan role`, () => {
    const plan = policiesOf(`${prefix}-plan`);
    const denied = (action: string) => plan.filter((s) => s.effect === 'Deny' && s.actions.includes(action));

    test('reads with ReadOnlyAccess, but no secret or parameter value, no decrypt outside the state key, no other state', () => {
      assert.deepEqual(attachedTo(`${prefix}-plan`).map((a) => a.policy_arn.split('/').at(-1)), ['ReadOnlyAccess']);
      for (const action of ['secretsmanager:GetSecretValue', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath']) {
        assert.deepEqual(denied(action).map((s) => s.resources), [['*']], action);
      }
      assert.deepEqual(denied('kms:Decrypt').map((s) => s.not_resources), [[`\${${Object.keys(root.resource.aws_kms_key).map((k) => `aws_kms_key.${k}`)[0]}.arn}`]]);
      const key = stack.terraform.backend.s3.key;
      assert.deepEqual(denied('s3:GetObject').map((s) => s.not_resources.map((r: string) => r.split('}/')[1])), [[key, `${key}.tflock`]]);
      assert.deepEqual(allows(plan).flatMap((s) => s.actions).filter((a: string) => a.startsWith('secretsmanager:') || a.startsWith('ssm:')), []);
    });
  });
}

test('the derivation covers data sources too', () => {
  assert.ok(dataSources(stacks.get('chat-dev')!.json, 'aws_route53_zone').length > 0);
});
