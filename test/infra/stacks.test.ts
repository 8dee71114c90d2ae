// Synthesizes the committed environments (config/environments.ts) once and
// checks the settings the platform depends on in the Terraform JSON, then
// compares each stack with its committed snapshot.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { environments } from '../../config/environments.js';
import { DEFAULT_PORT, PATHS, PING_INTERVAL_MS } from '../../service/src/defaults.js';
import { DEREGISTRATION_DELAY_SECONDS, LIFECYCLE_HOOK_TIMEOUT_SECONDS } from '../../service/src/drain.js';
import { addressOf, dataSources, only, policyDocument, resources, synthesize, type Json } from './synth.js';
import { SERVICE_ACCESS_STRING } from '../../stacks/cache.js';

const stacks = synthesize(environments);
const dev = stacks.get('chat-dev')!.json;
const prod = stacks.get('chat-prod')!.json;

const ref = (stack: Json, type: string, resource: Json, attribute: string) => `\${${addressOf(stack, type, resource)}.${attribute}}`;
const byName = (stack: Json, type: string, suffix: string): Json => {
  const found = Object.entries(stack.resource[type]).filter(([key]) => key.includes(suffix));
  assert.equal(found.length, 1, `one ${type} matching ${suffix}`);
  return found[0][1];
};

describe('environments', () => {
  test('one stack per environment', () => {
    assert.deepEqual([...stacks.keys()].sort(), Object.keys(environments).map((name) => `chat-${name}`).sort());
  });
});

describe('security groups are chained', () => {
  for (const [name, stack] of [['dev', dev], ['prod', prod]] as const) {
    test(`${name}: only the ALB is open to the internet, and only on 80 and 443`, () => {
      const alb = byName(stack, 'aws_security_group', 'alb');
      const instances = byName(stack, 'aws_security_group', 'instances');
      const cache = byName(stack, 'aws_security_group', 'cache');
      const ingress = resources(stack, 'aws_vpc_security_group_ingress_rule');
      const egress = resources(stack, 'aws_vpc_security_group_egress_rule');
      const rulesOf = (rules: Json[], group: Json) => rules.filter((r) => r.security_group_id === ref(stack, 'aws_security_group', group, 'id'));

      const open = ingress.filter((r) => r.cidr_ipv4 === '0.0.0.0/0' || r.cidr_ipv6 === '::/0');
      assert.deepEqual(open.map((r) => r.security_group_id).filter((id) => id !== ref(stack, 'aws_security_group', alb, 'id')), []);
      assert.deepEqual(open.map((r) => r.from_port).sort(), [443, 443, 80, 80]);

      const instanceIn = rulesOf(ingress, instances);
      assert.equal(instanceIn.length, 1);
      assert.equal(instanceIn[0].from_port, DEFAULT_PORT);
      assert.equal(instanceIn[0].referenced_security_group_id, ref(stack, 'aws_security_group', alb, 'id'));

      const cacheIn = rulesOf(ingress, cache);
      assert.equal(cacheIn.length, 1);
      assert.equal(cacheIn[0].from_port, 6379);
      assert.equal(cacheIn[0].referenced_security_group_id, ref(stack, 'aws_security_group', instances, 'id'));

      // No SSH anywhere, no inline rules, no all-protocol rules.
      assert.ok(![...ingress, ...egress].some((r) => r.from_port === 22 || r.ip_protocol === '-1'));
      for (const group of resources(stack, 'aws_security_group')) assert.equal(group.ingress, undefined);
      assert.deepEqual(rulesOf(egress, cache), []);
      assert.deepEqual(rulesOf(egress, alb).map((r) => [r.from_port, r.referenced_security_group_id]), [
        [DEFAULT_PORT, ref(stack, 'aws_security_group', instances, 'id')],
      ]);
      // The default group of the VPC allows nothing.
      const defaultGroup = only(stack, 'aws_default_security_group');
      assert.equal(defaultGroup.ingress, undefined);
      assert.equal(defaultGroup.egress, undefined);
    });
  }
});

describe('load balancer', () => {
  const alb = only(dev, 'aws_lb');
  const listeners = resources(dev, 'aws_lb_listener');
  const targetGroup = only(dev, 'aws_lb_target_group');

  test('HTTPS listener with the validated certificate and a TLS 1.2/1.3 policy', () => {
    const https = listeners.find((l) => l.port === 443);
    assert.equal(https.protocol, 'HTTPS');
    assert.equal(https.ssl_policy, 'ELBSecurityPolicy-TLS13-1-2-2021-06');
    assert.equal(https.certificate_arn, ref(dev, 'aws_acm_certificate_validation', only(dev, 'aws_acm_certificate_validation'), 'certificate_arn'));
    assert.equal(https.default_action[0].type, 'forward');
  });

  test('HTTP only redirects to HTTPS with a 301', () => {
    const http = listeners.find((l) => l.port === 80);
    assert.equal(http.protocol, 'HTTP');
    assert.deepEqual(http.default_action, [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', status_code: 'HTTP_301' } }]);
  });

  test('idle timeout above the ping interval; invalid headers dropped; dual-stack', () => {
    assert.ok(alb.idle_timeout > PING_INTERVAL_MS / 1000, `idle_timeout ${alb.idle_timeout}`);
    assert.equal(alb.drop_invalid_header_fields, true);
    assert.equal(alb.ip_address_type, 'dualstack');
    assert.equal(alb.internal, false);
  });

  test('target group: /readyz health check, drain-matched deregistration delay, stickiness off', () => {
    assert.equal(targetGroup.port, DEFAULT_PORT);
    assert.equal(targetGroup.health_check.path, PATHS.ready);
    assert.equal(targetGroup.health_check.matcher, '200');
    // The drain sequence's own bound (test/infra/rollout.test.ts checks its margins).
    assert.equal(Number(targetGroup.deregistration_delay), DEREGISTRATION_DELAY_SECONDS);
    assert.equal(targetGroup.stickiness.enabled, false);
  });
});

describe('WAF on the load balancer', () => {
  for (const [name, stack] of [['dev', dev], ['prod', prod]] as const) {
    const env = environments[name];
    const acl = only(stack, 'aws_wafv2_web_acl');
    const rule = (ruleName: string) => acl.rule.find((r: Json) => r.name === ruleName);

    test(`${name}: regional web ACL, allow by default, metrics and sampled requests on everywhere`, () => {
      assert.equal(acl.scope, 'REGIONAL');
      assert.deepEqual(acl.default_action, { allow: {} });
      for (const config of [acl.visibility_config, ...acl.rule.map((r: Json) => r.visibility_config)]) {
        assert.equal(config.cloudwatch_metrics_enabled, true);
        assert.equal(config.sampled_requests_enabled, true);
        assert.match(config.metric_name, new RegExp(`^chat-${name}-[a-z-]+$`));
      }
      assert.equal(new Set(acl.rule.map((r: Json) => r.priority)).size, acl.rule.length, 'distinct priorities');
    });

    test(`${name}: the rate rule blocks a client IP over the configured limit per 5 minutes, before any other rule`, () => {
      const rate = rule('rate-per-ip');
      assert.equal(rate.priority, 0);
      assert.equal(rate.action.block.custom_response.response_code, 429);
      assert.deepEqual(rate.statement, [
        { rate_based_statement: [{ aggregate_key_type: 'IP', limit: env.waf!.rateLimitPer5Minutes, evaluation_window_sec: 300 }] },
      ]);
    });

    test(`${name}: AWS managed rule groups (known bad inputs, common) in the configured mode`, () => {
      for (const group of ['AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesCommonRuleSet']) {
        const managed = acl.rule.find((r: Json) => r.statement[0].managed_rule_group_statement?.[0].name === group);
        assert.ok(managed, group);
        assert.equal(managed.statement[0].managed_rule_group_statement[0].vendor_name, 'AWS');
        assert.deepEqual(managed.override_action, env.waf!.managedRules === 'count' ? { count: {} } : { none: {} });
        assert.equal(managed.action, undefined);
      }
      // Only the User-Agent check of the common set is softened (non-browser clients send none).
      const overrides = acl.rule.flatMap((r: Json) => r.statement[0].managed_rule_group_statement?.[0].rule_action_override ?? []);
      assert.deepEqual(overrides, [{ name: 'NoUserAgent_HEADER', action_to_use: [{ count: [{}] }] }]);
    });

    test(`${name}: associated with the ALB; blocked and counted requests logged to an encrypted aws-waf-logs- group`, () => {
      const association = only(stack, 'aws_wafv2_web_acl_association');
      assert.equal(association.resource_arn, ref(stack, 'aws_lb', only(stack, 'aws_lb'), 'arn'));
      assert.equal(association.web_acl_arn, ref(stack, 'aws_wafv2_web_acl', acl, 'arn'));

      const logging = only(stack, 'aws_wafv2_web_acl_logging_configuration');
      const group = resources(stack, 'aws_cloudwatch_log_group').find((g) => g.name === `aws-waf-logs-chat-${name}`);
      assert.ok(group, 'WAF log group');
      assert.equal(group.retention_in_days, env.observability.logRetentionDays);
      assert.equal(group.kms_key_id, ref(stack, 'aws_kms_key', only(stack, 'aws_kms_key'), 'arn'));
      assert.equal(logging.resource_arn, ref(stack, 'aws_wafv2_web_acl', acl, 'arn'));
      assert.deepEqual(logging.log_destination_configs, [ref(stack, 'aws_cloudwatch_log_group', group, 'arn')]);
      assert.equal(logging.logging_filter.default_behavior, 'DROP');
      const kept = logging.logging_filter.filter.flatMap((f: Json) => f.condition.map((c: Json) => c.action_condition.action));
      assert.deepEqual(kept.sort(), ['BLOCK', 'COUNT', 'EXCLUDED_AS_COUNT']);

      assert.equal(stack.output.waf_web_acl_arn.value, ref(stack, 'aws_wafv2_web_acl', acl, 'arn'));
    });
  }
});

describe('TLS and DNS', () => {
  test('validation records are iterated with for_each over the validation options, not index 0', () => {
    const record = resources(dev, 'aws_route53_record').find((r) => r.for_each);
    assert.ok(record, 'a for_each validation record');
    assert.match(record.for_each, /for key, val in tolist\(aws_acm_certificate\.[^.]+\.domain_validation_options\): val\.domain_name => val/);
    assert.equal(record.name, '${each.value.resource_record_name}');
    assert.deepEqual(record.records, ['${each.value.resource_record_value}']);
    assert.doesNotMatch(JSON.stringify(dev), /domain_validation_options\[0\]|domain_validation_options\.0/);
    const validation = only(dev, 'aws_acm_certificate_validation');
    assert.match(validation.validation_record_fqdns, /for key, val in aws_route53_record\.[^:]+: val\.fqdn/);
    assert.equal(only(dev, 'aws_acm_certificate').validation_method, 'DNS');
  });

  test('A and AAAA aliases point the domain at the ALB', () => {
    const aliases = resources(dev, 'aws_route53_record').filter((r) => r.alias);
    assert.deepEqual(aliases.map((r) => r.type).sort(), ['A', 'AAAA']);
    for (const record of aliases) {
      assert.equal(record.name, environments.dev.dns.domainName);
      assert.equal(record.alias.name, ref(dev, 'aws_lb', only(dev, 'aws_lb'), 'dns_name'));
    }
    assert.equal(dataSources(dev, 'aws_route53_zone')[0].name, environments.dev.dns.hostedZoneName);
  });
});

describe('compute', () => {
  const template = only(dev, 'aws_launch_template');
  const group = only(dev, 'aws_autoscaling_group');

  test('launch template: IMDSv2 required, encrypted gp3 root, no public address', () => {
    assert.equal(template.metadata_options.http_tokens, 'required');
    assert.equal(template.metadata_options.http_put_response_hop_limit, 1);
    const root = template.block_device_mappings[0].ebs;
    assert.equal(root.volume_type, 'gp3');
    assert.equal(root.encrypted, 'true');
    assert.equal(template.network_interfaces, undefined);
  });

  test('the AMI id is the one pinned in config, never a newest-image lookup', () => {
    for (const [name, stack] of [['dev', dev], ['prod', prod]] as const) {
      assert.equal(only(stack, 'aws_launch_template').image_id, environments[name].ami.amiId);
      assert.deepEqual(dataSources(stack, 'aws_ami'), [], name);
    }
  });

  test('user data writes the environment file (IAM auth to the cache, IMDSv2), then starts the unit', () => {
    const script: string = template.user_data;
    assert.match(script, /^\$\{base64encode\(join\("", \[/);
    for (const expected of [
      'X-aws-ec2-metadata-token',
      'meta-data/instance-id',
      'REDIS_URL=rediss://", aws_elasticache_user.',
      '.user_id, "@", aws_elasticache_replication_group.',
      'REDIS_AUTH=iam',
      'REDIS_IAM_CACHE=chat-dev',
      'AWS_REGION=$region',
      '.primary_endpoint_address, ":6379',
      'INSTANCE_ID=$instance_id',
      'WORKERS=auto',
      `PORT=${DEFAULT_PORT}`,
      'LOG_LEVEL=info',
      'chown root:chat',
      'chmod 0640',
      '/etc/chat/chat.env',
      '/opt/chat/bin/chat-configure-logs',
      'systemctl start chat.service',
      'autoscaling/target-lifecycle-state',
      'complete-lifecycle-action',
    ]) {
      assert.ok(script.includes(expected), `user data contains ${expected}`);
    }
    // No cache password exists to read or embed; the only secrets read are identity's (test/infra/identity.test.ts), by reference.
    assert.doesNotMatch(script, /random_password|auth_token/);
    assert.deepEqual([...script.matchAll(/([A-Z_]+)=\$\(aws secretsmanager get-secret-value/g)].map((m) => m[1]), ['AUTH_JWT_SECRET', 'PUBLISH_API_KEY']);
  });

  test('instance profile: Session Manager, CloudWatch agent, IAM auth to its own cache as its own user, the identity secrets only', () => {
    const rolePolicies = resources(dev, 'aws_iam_role_policy');
    const role = resources(dev, 'aws_iam_role').find((r) => r.name === 'chat-dev-instance');
    const policy = rolePolicies.find((p) => p.role === ref(dev, 'aws_iam_role', role, 'id'));
    const statements: Json[] = policyDocument(dev, policy.policy).statement;
    const actions = statements.flatMap((s) => s.actions);
    for (const action of ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateDataChannel', 'logs:PutLogEvents', 'cloudwatch:PutMetricData']) {
      assert.ok(actions.includes(action), action);
    }
    const reads = statements.filter((s) => s.actions.some((a: string) => /^(secretsmanager|ssm):Get|^s3:Get|^kms:Decrypt/.test(a)));
    // Only identity's secrets, through Secrets Manager only (test/infra/identity.test.ts).
    assert.deepEqual(
      reads.map((s) => [s.sid, s.actions]),
      [
        ['ReadServiceSecrets', ['secretsmanager:GetSecretValue']],
        ['DecryptServiceSecrets', ['kms:Decrypt']],
      ],
    );
    const connect = statements.filter((s) => s.actions.includes('elasticache:Connect'));
    const serviceUser = resources(dev, 'aws_elasticache_user').find((u) => u.user_name !== 'default');
    assert.equal(connect.length, 1);
    const [groupArn, userArn] = connect[0].resources;
    assert.match(groupArn, /^arn:\$\{data\.aws_partition\.[^}]+\}:elasticache:eu-west-1:\$\{data\.aws_caller_identity\.[^}]+\}:replicationgroup:chat-dev$/);
    assert.ok(userArn.endsWith(`:user:${ref(dev, 'aws_elasticache_user', serviceUser, 'user_id')}`), userArn);
    assert.ok(!actions.some((a) => a.endsWith(':*') || a === '*'));
    // No managed policies that would widen it.
    assert.deepEqual(resources(dev, 'aws_iam_role_policy_attachment'), []);
    assert.equal(role.managed_policy_arns, undefined);
    assert.equal(only(dev, 'aws_iam_instance_profile').role, ref(dev, 'aws_iam_role', role, 'name'));
  });

  test('Auto Scaling group: private subnets, EC2 health checks with grace, rolling instance refresh, drain hook', () => {
    const privateSubnets = resources(dev, 'aws_subnet').filter((s) => s.tags.Tier === 'private');
    assert.deepEqual(group.vpc_zone_identifier, privateSubnets.map((s) => ref(dev, 'aws_subnet', s, 'id')));
    assert.equal(group.health_check_type, 'EC2');
    assert.ok(group.health_check_grace_period > 0);
    assert.equal(group.instance_refresh.strategy, 'Rolling');
    assert.equal(group.instance_refresh.preferences.max_healthy_percentage, environments.dev.compute.instanceRefreshMaxHealthyPercent);
    const [hook] = group.initial_lifecycle_hook;
    assert.equal(hook.lifecycle_transition, 'autoscaling:EC2_INSTANCE_TERMINATING');
    assert.equal(hook.default_result, 'CONTINUE');
    assert.equal(hook.heartbeat_timeout, LIFECYCLE_HOOK_TIMEOUT_SECONDS);
    assert.deepEqual(group.launch_template.version, `\${${addressOf(dev, 'aws_launch_template', template)}.latest_version}`);
  });

  test('target tracking on CPU', () => {
    const policy = resources(dev, 'aws_autoscaling_policy').find((p) => p.target_tracking_configuration.predefined_metric_specification);
    assert.equal(policy.policy_type, 'TargetTrackingScaling');
    assert.equal(policy.target_tracking_configuration.predefined_metric_specification.predefined_metric_type, 'ASGAverageCPUUtilization');
    assert.equal(policy.target_tracking_configuration.target_value, environments.dev.compute.cpuTargetPercent);
  });
});

describe('cache', () => {
  test('encrypted in transit and at rest; IAM-authenticated RBAC users, no password in state', () => {
    const group = only(dev, 'aws_elasticache_replication_group');
    assert.equal(group.transit_encryption_enabled, true);
    assert.equal(group.transit_encryption_mode, 'required');
    assert.equal(group.at_rest_encryption_enabled, 'true');
    assert.equal(group.engine, environments.dev.cache.engine);
    assert.equal(group.auth_token, undefined);
    const userGroup = only(dev, 'aws_elasticache_user_group');
    assert.deepEqual(group.user_group_ids, [ref(dev, 'aws_elasticache_user_group', userGroup, 'user_group_id')]);
    const users = resources(dev, 'aws_elasticache_user');
    const service = users.find((u) => u.user_name !== 'default');
    assert.deepEqual(
      [service.user_id, service.user_name, service.engine, service.access_string, service.authentication_mode],
      ['chat-dev-service', 'chat-dev-service', 'valkey', SERVICE_ACCESS_STRING, { type: 'iam' }],
    );
    const fallback = users.find((u) => u.user_name === 'default');
    assert.equal(fallback.access_string, 'off -@all', 'the mandatory default user can do nothing');
    assert.deepEqual(userGroup.user_ids.length, 2);
    // No cache password anywhere, and no secret value in the state at all: the only secrets are
    // identity's, created empty (their values are put by npm run secrets; test/infra/identity.test.ts).
    for (const stack of [dev, prod]) {
      assert.doesNotMatch(JSON.stringify(stack), /auth_token|secret_string/);
      for (const type of ['random_password', 'aws_secretsmanager_secret_version']) assert.deepEqual(Object.keys(stack.resource[type] ?? {}), [], type);
      assert.deepEqual(Object.keys(stack.resource.aws_secretsmanager_secret ?? {}).filter((key) => !key.startsWith('identity_')), [], 'only identity secrets');
    }
    assert.equal(group.maintenance_window, environments.dev.cache.maintenanceWindow);
    assert.equal(group.snapshot_window, environments.dev.cache.snapshotWindow);
    assert.ok(group.snapshot_retention_limit >= 1);
    assert.ok(group.subnet_group_name && group.parameter_group_name);
  });

  test('failover and Multi-AZ with replicas', () => {
    for (const [stack, env] of [[dev, environments.dev], [prod, environments.prod]] as const) {
      const group = only(stack, 'aws_elasticache_replication_group');
      assert.equal(group.num_cache_clusters, env.cache.replicas + 1);
      assert.equal(group.automatic_failover_enabled, true);
      assert.equal(group.multi_az_enabled, true);
    }
  });
});

describe('network', () => {
  test('subnets in every configured AZ; NAT single for dev, per AZ for prod', () => {
    for (const [stack, env, nats] of [[dev, environments.dev, 1], [prod, environments.prod, 3]] as const) {
      const subnets = resources(stack, 'aws_subnet');
      for (const tier of ['public', 'private']) {
        assert.deepEqual(subnets.filter((s) => s.tags.Tier === tier).map((s) => s.availability_zone), env.network.availabilityZones);
      }
      assert.equal(resources(stack, 'aws_nat_gateway').length, nats);
      const natRoutes = resources(stack, 'aws_route').filter((r) => r.nat_gateway_id);
      assert.equal(natRoutes.length, env.network.availabilityZones.length);
      assert.equal(new Set(natRoutes.map((r) => r.nat_gateway_id)).size, nats);
    }
  });
});

describe('observability and outputs', () => {
  test('encrypted service log group and the alarms', () => {
    const logGroup = resources(dev, 'aws_cloudwatch_log_group').find((g) => g.name === '/chat/chat-dev/service');
    assert.equal(logGroup.retention_in_days, environments.dev.observability.logRetentionDays);
    assert.ok(logGroup.kms_key_id);
    const metrics = resources(dev, 'aws_cloudwatch_metric_alarm').map((a) => a.metric_name);
    for (const metric of ['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count', 'UnHealthyHostCount', 'EngineCPUUtilization', 'DatabaseMemoryUsagePercentage', 'Evictions']) {
      assert.ok(metrics.includes(metric), metric);
    }
    // Cache alarms cover every node of the group.
    assert.equal(metrics.filter((m) => m === 'Evictions').length, environments.dev.cache.replicas + 1);
  });

  test('outputs: URL, ALB DNS name, cache endpoint, ASG name, web ACL, alarm topic, ALB logs bucket, identity secrets', () => {
    assert.deepEqual(Object.keys(dev.output).sort(), ['alarm_topic_arn', 'alb_dns_name', 'alb_logs_bucket', 'asg_name', 'cache_endpoint', 'identity_secrets', 'log_group', 'url', 'waf_web_acl_arn', 'websocket_url']);
    assert.equal(dev.output.url.value, `https://${environments.dev.dns.domainName}`);
    assert.equal(dev.output.websocket_url.value, `wss://${environments.dev.dns.domainName}${PATHS.websocket}`);
  });

});

describe('delivery: state and protection', () => {
  test('every environment keeps its state in the foundation bucket, one key each, with the S3 lock file', () => {
    for (const [name, stack] of [['dev', dev], ['prod', prod]] as const) {
      const state = environments[name].state;
      assert.equal(state.backend, 's3');
      assert.deepEqual(stack.terraform.backend, {
        s3: { bucket: state.backend === 's3' && state.bucket, key: `chat-${name}/terraform.tfstate`, region: state.backend === 's3' && state.region, encrypt: true, use_lockfile: true },
      });
    }
  });

  test('prod keeps its cache and KMS key (prevent_destroy) and its load balancer (deletion protection); dev can go', () => {
    for (const [stack, protect] of [[dev, false], [prod, true]] as const) {
      assert.equal(only(stack, 'aws_elasticache_replication_group').lifecycle.prevent_destroy, protect);
      assert.equal(only(stack, 'aws_kms_key').lifecycle.prevent_destroy, protect);
      assert.equal(only(stack, 'aws_lb').enable_deletion_protection, protect);
    }
  });

  test('the replication group leaves a final snapshot when it is deleted', () => {
    assert.equal(only(dev, 'aws_elasticache_replication_group').final_snapshot_identifier, 'chat-dev-final');
    assert.equal(only(prod, 'aws_elasticache_replication_group').final_snapshot_identifier, 'chat-prod-final');
  });
});

describe('snapshots', () => {
  // Reviewers see infrastructure changes as a diff of these files; UPDATE_SNAPSHOTS=1 rewrites them.
  const directory = new URL('./__snapshots__/', import.meta.url);
  for (const [name, stack] of stacks) {
    test(`${name} matches test/infra/__snapshots__/${name}.json`, () => {
      const file = new URL(`${name}.json`, directory);
      if (process.env.UPDATE_SNAPSHOTS === '1') {
        mkdirSync(directory, { recursive: true });
        writeFileSync(file, stack.text);
      }
      assert.ok(existsSync(file), `snapshot missing; run UPDATE_SNAPSHOTS=1 node --import tsx --test ${new URL(import.meta.url).pathname}`);
      const expected = readFileSync(file, 'utf8');
      assert.ok(stack.text === expected, `synthesized ${name} differs from its snapshot; review the change, then rerun with UPDATE_SNAPSHOTS=1`);
    });
  }
});
