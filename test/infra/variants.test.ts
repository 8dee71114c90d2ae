// The settings that the committed environments leave at one value: NAT none,
// no replicas, stickiness on, a fixed AMI id, no connections scaling policy,
// the S3 backend (with S3 locking, and with DynamoDB locking) and the WAF
// (another limit and count mode, turned off, left out). One synth of three
// variant stacks covers them all.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { environments } from '../../config/environments.js';
import type { EnvironmentConfig } from '../../config/types.js';
import { WAF_DEFAULTS } from '../../stacks/waf.js';
import { addressOf, dataSources, only, resources, synthesize } from './synth.js';

const base = environments.dev;
const lean: EnvironmentConfig = {
  ...base,
  name: 'lean',
  network: { ...base.network, natMode: 'none', flowLogs: false },
  ami: { version: '0.2.0', amiId: 'ami-0123456789abcdef0' },
  compute: {
    ...base.compute,
    connectionsScaling: null,
    serviceEnv: { HISTORY_LIMIT: '100' },
  },
  loadBalancer: { ...base.loadBalancer, stickiness: true },
  cache: { ...base.cache, engine: 'redis', engineVersion: '7.1', replicas: 0 },
  // `enabled` left out: on by default.
  waf: { rateLimitPer5Minutes: 500, managedRules: 'count' },
  state: { backend: 's3', bucket: 'chat-state-123456789012', key: 'chat/lean.tfstate', region: 'eu-west-1' },
};
const locked: EnvironmentConfig = {
  ...base,
  name: 'locked',
  network: { ...base.network, natMode: 'per-az' },
  waf: { enabled: false },
  state: { backend: 's3', bucket: 'chat-state-123456789012', key: 'chat/locked.tfstate', region: 'eu-west-1', dynamodbTable: 'chat-locks' },
};
// No `waf` section at all.
const { waf: _committedWaf, ...withoutWaf } = base;
// A throwaway sandbox on local state, said explicitly.
const bare: EnvironmentConfig = { ...withoutWaf, name: 'bare', state: { backend: 'local', sandbox: true } };

const stacks = synthesize({ lean, locked, bare });
const leanStack = stacks.get('chat-lean')!.json;
const lockedStack = stacks.get('chat-locked')!.json;
const bareStack = stacks.get('chat-bare')!.json;

describe('NAT modes', () => {
  test('none: no NAT gateway, no default route from private subnets, endpoints instead', () => {
    assert.deepEqual(resources(leanStack, 'aws_nat_gateway'), []);
    assert.deepEqual(resources(leanStack, 'aws_eip'), []);
    assert.deepEqual(resources(leanStack, 'aws_route').filter((r) => r.nat_gateway_id), []);
    const services = resources(leanStack, 'aws_vpc_endpoint').map((e) => e.service_name.split('.').at(-1));
    for (const service of ['ssm', 'ssmmessages', 'secretsmanager', 'logs', 'monitoring', 's3']) assert.ok(services.includes(service), service);
  });

  test('per-az: one gateway and one route per AZ', () => {
    const nats = resources(lockedStack, 'aws_nat_gateway');
    assert.equal(nats.length, base.network.availabilityZones.length);
    assert.equal(new Set(resources(lockedStack, 'aws_route').filter((r) => r.nat_gateway_id).map((r) => r.nat_gateway_id)).size, nats.length);
    assert.deepEqual(resources(lockedStack, 'aws_vpc_endpoint'), []);
  });
});

describe('cache without replicas', () => {
  test('no automatic failover or Multi-AZ, one node, alarms for that node', () => {
    const group = only(leanStack, 'aws_elasticache_replication_group');
    assert.equal(group.num_cache_clusters, 1);
    assert.equal(group.automatic_failover_enabled, false);
    assert.equal(group.multi_az_enabled, false);
    assert.equal(group.engine, 'redis');
    assert.equal(only(leanStack, 'aws_elasticache_parameter_group').family, 'redis7');
    const evictions = resources(leanStack, 'aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'Evictions');
    assert.deepEqual(evictions.map((a) => a.dimensions.CacheClusterId), ['chat-lean-001']);
  });
});

describe('compute options', () => {
  test('a configured AMI id is used as is, without a lookup', () => {
    assert.equal(only(leanStack, 'aws_launch_template').image_id, 'ami-0123456789abcdef0');
    assert.deepEqual(dataSources(leanStack, 'aws_ami'), []);
  });

  test('without connections scaling, CPU target tracking only', () => {
    const policies = resources(leanStack, 'aws_autoscaling_policy');
    assert.deepEqual(policies.map((p) => p.target_tracking_configuration.predefined_metric_specification?.predefined_metric_type), ['ASGAverageCPUUtilization']);
  });

  test('extra service settings reach the environment file', () => {
    const script: string = only(leanStack, 'aws_launch_template').user_data;
    assert.ok(script.includes('HISTORY_LIMIT=100\\n'));
  });

  test('stickiness on when configured', () => {
    assert.equal(only(leanStack, 'aws_lb_target_group').stickiness.enabled, true);
  });
});

describe('S3 state backend', () => {
  test('S3 lock file by default', () => {
    assert.deepEqual(leanStack.terraform.backend, {
      s3: { bucket: 'chat-state-123456789012', key: 'chat/lean.tfstate', region: 'eu-west-1', encrypt: true, use_lockfile: true },
    });
  });

  test('a local sandbox keeps its state at a machine-independent path', () => {
    assert.deepEqual(bareStack.terraform.backend, { local: { path: '../../../terraform.chat-bare.tfstate' } });
  });

  test('DynamoDB locking when a table is named', () => {
    assert.deepEqual(lockedStack.terraform.backend, {
      s3: { bucket: 'chat-state-123456789012', key: 'chat/locked.tfstate', region: 'eu-west-1', encrypt: true, dynamodb_table: 'chat-locks' },
    });
  });
});

describe('WAF options', () => {
  const rateRule = (stack: any) => only(stack, 'aws_wafv2_web_acl').rule.find((r: any) => r.name === 'rate-per-ip');

  test('a configured limit and count mode reach the web ACL', () => {
    assert.equal(rateRule(leanStack).statement[0].rate_based_statement[0].limit, 500);
    const managed = only(leanStack, 'aws_wafv2_web_acl').rule.filter((r: any) => r.statement[0].managed_rule_group_statement);
    assert.equal(managed.length, 2);
    for (const rule of managed) assert.deepEqual(rule.override_action, { count: {} });
    // The rate rule blocks in either mode.
    assert.ok(rateRule(leanStack).action.block);
  });

  test('left out, the WAF is on with the defaults and guards the ALB', () => {
    assert.equal(rateRule(bareStack).statement[0].rate_based_statement[0].limit, WAF_DEFAULTS.rateLimitPer5Minutes);
    const managed = only(bareStack, 'aws_wafv2_web_acl').rule.filter((r: any) => r.statement[0].managed_rule_group_statement);
    for (const rule of managed) assert.deepEqual(rule.override_action, { none: {} });
    assert.equal(only(bareStack, 'aws_wafv2_web_acl_association').resource_arn, `\${${addressOf(bareStack, 'aws_lb', only(bareStack, 'aws_lb'))}.arn}`);
    assert.ok(bareStack.output.waf_web_acl_arn);
  });

  test('turned off: no web ACL, no association, no WAF logs, no output', () => {
    for (const type of ['aws_wafv2_web_acl', 'aws_wafv2_web_acl_association', 'aws_wafv2_web_acl_logging_configuration']) {
      assert.deepEqual(resources(lockedStack, type), [], type);
    }
    assert.deepEqual(resources(lockedStack, 'aws_cloudwatch_log_group').filter((g) => g.name.startsWith('aws-waf-logs-')), []);
    assert.equal(lockedStack.output.waf_web_acl_arn, undefined);
    // The ALB itself is unchanged.
    assert.equal(resources(lockedStack, 'aws_lb').length, 1);
  });
});
