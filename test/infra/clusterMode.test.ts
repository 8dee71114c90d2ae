// ElastiCache cluster mode (cache.clusterMode): node groups behind a
// configuration endpoint, a cluster-mode parameter group, TLS and IAM
// authentication as in single mode, and the service told REDIS_MODE=cluster. The
// committed environments run one primary; a variant stack turns it on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { environments } from '../../config/environments.js';
import type { EnvironmentConfig } from '../../config/types.js';
import { ConfigError, validateEnvironments } from '../../config/validate.js';
import { MAXMEMORY_POLICY, cacheNodeIds } from '../../stacks/cache.js';
import { addressOf, only, resources, synthesize } from './synth.js';

const base = environments.dev;
const sharded: EnvironmentConfig = {
  ...base,
  name: 'sharded',
  cache: { ...base.cache, replicas: 1, clusterMode: { nodeGroups: 3 } },
  state: { backend: 's3', bucket: 'chat-state-123456789012', key: 'chat/sharded.tfstate', region: 'eu-west-1' },
};
const stacks = synthesize({ sharded, dev: base });
const stack = stacks.get('chat-sharded')!.json;
const single = stacks.get('chat-dev')!.json;
const group = only(stack, 'aws_elasticache_replication_group');
const groupAddress = addressOf(stack, 'aws_elasticache_replication_group', group);

describe('cache in cluster mode', () => {
  test('node groups with replicas each, automatic failover and Multi-AZ, no single-primary node count', () => {
    assert.equal(group.cluster_mode, 'enabled');
    assert.equal(group.num_node_groups, 3);
    assert.equal(group.replicas_per_node_group, 1);
    assert.equal(group.num_cache_clusters, undefined);
    assert.equal(group.automatic_failover_enabled, true);
    assert.equal(group.multi_az_enabled, true);
  });

  test('TLS required, IAM-authenticated RBAC user group, encrypted at rest, as in single mode', () => {
    assert.equal(group.transit_encryption_enabled, true);
    assert.equal(group.transit_encryption_mode, 'required');
    assert.equal(group.auth_token, undefined);
    assert.deepEqual(group.user_group_ids, [`\${${addressOf(stack, 'aws_elasticache_user_group', only(stack, 'aws_elasticache_user_group'))}.user_group_id}`]);
    assert.equal(group.at_rest_encryption_enabled, 'true');
    assert.ok(group.kms_key_id);
  });

  test('a parameter group of its own with cluster-enabled yes', () => {
    const parameters = only(stack, 'aws_elasticache_parameter_group');
    assert.equal(parameters.family, 'valkey8');
    assert.match(parameters.name, /^chat-sharded-valkey8-[0-9a-f]{8}$/);
    assert.notEqual(parameters.name.slice(-8), only(single, 'aws_elasticache_parameter_group').name.slice(-8), 'a group of its own');
    assert.deepEqual(
      Object.fromEntries(parameters.parameter.map((p: { name: string; value: string }) => [p.name, p.value])),
      { 'maxmemory-policy': MAXMEMORY_POLICY, 'cluster-enabled': 'yes' },
    );
    assert.equal(group.parameter_group_name, `\${${addressOf(stack, 'aws_elasticache_parameter_group', parameters)}.name}`);
    // Single mode keeps its parameter group as it was.
    assert.deepEqual(only(single, 'aws_elasticache_parameter_group').parameter, [{ name: 'maxmemory-policy', value: MAXMEMORY_POLICY }]);
  });

  test('the instances get the configuration endpoint and REDIS_MODE=cluster', () => {
    const script: string = only(stack, 'aws_launch_template').user_data;
    assert.ok(script.includes(`.user_id, "@", ${groupAddress}.configuration_endpoint_address, ":6379`), 'the RBAC user at the configuration endpoint in REDIS_URL');
    assert.ok(script.includes('REDIS_AUTH=iam'), 'IAM authentication, as in single mode');
    assert.ok(script.includes('REDIS_MODE=cluster'));
    assert.ok(!script.includes('primary_endpoint_address'));
    const singleScript: string = only(single, 'aws_launch_template').user_data;
    assert.ok(!singleScript.includes('REDIS_MODE'), 'single mode: the service default');
    assert.equal(stack.output.cache_endpoint.value, `\${${groupAddress}.configuration_endpoint_address}`);
  });

  test('cache alarms cover every node of every node group', () => {
    const evictions = resources(stack, 'aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'Evictions');
    assert.deepEqual(
      evictions.map((a) => a.dimensions.CacheClusterId).sort(),
      ['chat-sharded-0001-001', 'chat-sharded-0001-002', 'chat-sharded-0002-001', 'chat-sharded-0002-002', 'chat-sharded-0003-001', 'chat-sharded-0003-002'],
    );
    assert.deepEqual(cacheNodeIds('g', 2), ['g-001', 'g-002', 'g-003']);
  });
});

describe('cluster mode validation', () => {
  const problems = (cache: Record<string, unknown>, serviceEnv: Record<string, string> = {}): string[] => {
    try {
      validateEnvironments({ dev: { ...structuredClone(base), cache: { ...base.cache, ...cache }, compute: { ...base.compute, serviceEnv } } });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return [...error.problems];
    }
    return [];
  };

  test('null or left out is one primary; a node-group count is accepted', () => {
    assert.deepEqual(problems({ clusterMode: null }), []);
    assert.deepEqual(problems({ clusterMode: { nodeGroups: 1 } }), []);
  });

  test('a bad node-group count, too many nodes, an unknown setting and REDIS_MODE in serviceEnv are refused by name', () => {
    assert.match(problems({ clusterMode: { nodeGroups: 0 } }).join('\n'), /dev\.cache\.clusterMode\.nodeGroups/);
    assert.match(problems({ clusterMode: { nodeGroups: 100 }, replicas: 5 }).join('\n'), /dev\.cache\.clusterMode\.nodeGroups.*at most 500 nodes, got 600/);
    assert.match(problems({ clusterMode: { nodeGroups: 2, replicasPerNodeGroup: 1 } }).join('\n'), /dev\.cache\.clusterMode\.replicasPerNodeGroup.*is not a setting/);
    assert.match(problems({ clusterMode: 3 }).join('\n'), /dev\.cache\.clusterMode.*must be an object/);
    assert.match(problems({}, { REDIS_MODE: 'cluster' }).join('\n'), /dev\.compute\.serviceEnv\.REDIS_MODE.*set by the stack/);
  });
});
