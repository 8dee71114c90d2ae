// The health model, rollout, drain timing, published metrics and operability
// of the synthesized stacks (issue 15), asserted on the Terraform JSON of the
// committed environments.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { environments } from '../../config/environments.js';
import { validateEnvironments } from '../../config/validate.js';
import { PATHS } from '../../service/src/defaults.js';
import {
  DEFAULT_DRAIN_SECONDS,
  DEREGISTRATION_DELAY_SECONDS,
  DRAIN_EXIT_GRACE_SECONDS,
  DRAIN_MARGIN_SECONDS,
  DRAIN_POLL_SECONDS,
  LIFECYCLE_HOOK_TIMEOUT_SECONDS,
  STOP_TIMEOUT_SECONDS,
} from '../../service/src/drain.js';
import { LIVENESS } from '../../stacks/health.js';
import { PUBLISHED_METRICS, SERVICE_METRICS_DIMENSION, SERVICE_METRICS_NAMESPACE } from '../../stacks/metrics.js';
import { ROLLBACK_ALARM_IDS } from '../../stacks/observability.js';
import { addressOf, only, policyDocument, resources, synthesize, type Json } from './synth.js';

const stacks = synthesize(environments);
const dev = stacks.get('chat-dev')!.json;
const prod = stacks.get('chat-prod')!.json;
const both = [
  ['dev', dev],
  ['prod', prod],
] as const;
const ref = (stack: Json, type: string, resource: Json, attribute: string) => `\${${addressOf(stack, type, resource)}.${attribute}}`;
const userData = (stack: Json): string => only(stack, 'aws_launch_template').user_data;

describe('health: readiness routes, liveness replaces', () => {
  for (const [name, stack] of both) {
    const group = only(stack, 'aws_autoscaling_group');
    test(`${name}: the group ignores the load balancer's readiness (a Redis outage replaces nothing)`, () => {
      assert.equal(group.health_check_type, 'EC2');
      assert.ok(group.health_check_grace_period > 0);
      // Readiness still decides routing.
      assert.equal(only(stack, 'aws_lb_target_group').health_check.path, PATHS.ready);
    });
  }

  test('instances may report themselves Unhealthy, for their own group only', () => {
    const role = resources(dev, 'aws_iam_role').find((r) => r.name === 'chat-dev-instance');
    const policy = resources(dev, 'aws_iam_role_policy').find((p) => p.role === ref(dev, 'aws_iam_role', role, 'id'));
    const statements: Json[] = policyDocument(dev, policy.policy).statement;
    const report = statements.find((s) => s.actions.includes('autoscaling:SetInstanceHealth'));
    assert.ok(report, 'SetInstanceHealth granted');
    assert.deepEqual(report.actions, ['autoscaling:SetInstanceHealth']);
    assert.equal(report.resources.length, 1);
    assert.match(report.resources[0], /:autoScalingGroup:\*:autoScalingGroupName\/chat-dev$/);
  });

  test('user data configures the liveness watchdog on /healthz and starts it after the service', () => {
    const script = userData(dev);
    for (const line of [
      `LIVENESS_URL=http://127.0.0.1:8080${PATHS.health}`,
      `LIVENESS_INTERVAL_SECONDS=${LIVENESS.intervalSeconds}`,
      `LIVENESS_TIMEOUT_SECONDS=${LIVENESS.timeoutSeconds}`,
      `LIVENESS_FAILURES=${LIVENESS.failures}`,
      'INSTANCE_ID=$instance_id',
    ]) {
      assert.ok(script.includes(line), line);
    }
    assert.ok(script.indexOf('systemctl start chat.service') < script.indexOf('systemctl enable --now chat-liveness.service'));
    // The drain stops the watchdog before the service, so a drain is never reported.
    assert.ok(script.indexOf('systemctl stop chat-liveness.service') < script.indexOf('systemctl stop chat.service'));
    // Dead or wedged for a minute or more, far past a crash-restart, before a replacement.
    assert.ok(LIVENESS.intervalSeconds * LIVENESS.failures >= 60);
  });
});

describe('rollout: launch before terminate, checkpoints, alarm rollback', () => {
  for (const [name, stack] of both) {
    const group = only(stack, 'aws_autoscaling_group');
    const env = environments[name];
    test(`${name}: instance maintenance policy keeps 100 % in service and launches first`, () => {
      assert.equal(group.instance_maintenance_policy.min_healthy_percentage, 100);
      assert.ok(group.instance_maintenance_policy.max_healthy_percentage > 100);
      assert.equal(group.instance_maintenance_policy.max_healthy_percentage, env.compute.instanceRefreshMaxHealthyPercent);
    });

    test(`${name}: instance refresh with the same policy, checkpoints, and automatic rollback on alarms`, () => {
      const preferences = group.instance_refresh.preferences;
      assert.equal(group.instance_refresh.strategy, 'Rolling');
      assert.equal(preferences.min_healthy_percentage, 100);
      assert.ok(preferences.max_healthy_percentage > 100);
      assert.ok(preferences.checkpoint_percentages.length >= 2);
      assert.equal(preferences.checkpoint_percentages.at(-1), 100);
      assert.ok(Number(preferences.checkpoint_delay) > 0);
      assert.equal(preferences.auto_rollback, true);
      // The alarms named are resources of this stack, referenced (created first), and cover 5xx and event-loop lag.
      const alarms = resources(stack, 'aws_cloudwatch_metric_alarm');
      const expected = ROLLBACK_ALARM_IDS.map((id) => {
        const alarm = alarms.find((a) => a.alarm_name === `chat-${name}-${id}`);
        assert.ok(alarm, id);
        return ref(stack, 'aws_cloudwatch_metric_alarm', alarm, 'alarm_name');
      });
      assert.deepEqual(preferences.alarm_specification.alarms, expected);
      const metrics = ROLLBACK_ALARM_IDS.map((id) => alarms.find((a) => a.alarm_name === `chat-${name}-${id}`).metric_name);
      assert.deepEqual(metrics, ['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count', PUBLISHED_METRICS.eventLoopLag]);
    });
  }
});

describe('drain: one set of timings, with margins', () => {
  const group = only(dev, 'aws_autoscaling_group');
  const targetGroup = only(dev, 'aws_lb_target_group');

  // AWS: an instance leaving a group behind a load balancer is deregistered first
  // (the target drains for the deregistration delay); only then does the
  // termination hook put it into Terminating:Wait. IMDS reports the target
  // lifecycle state Terminated from the start, which is what the watcher polls.
  test('deregistration outlasts noticing plus the whole clean stop, with a margin', () => {
    const delay = Number(targetGroup.deregistration_delay);
    assert.equal(delay, DEREGISTRATION_DELAY_SECONDS);
    assert.ok(delay >= DRAIN_POLL_SECONDS + DEFAULT_DRAIN_SECONDS + DRAIN_EXIT_GRACE_SECONDS + DRAIN_MARGIN_SECONDS);
    assert.ok(DRAIN_MARGIN_SECONDS >= 5, 'a margin worth the name');
  });

  test('the termination hook outlasts noticing plus systemd\'s stop timeout, with a margin', () => {
    const [hook] = group.initial_lifecycle_hook;
    assert.equal(hook.lifecycle_transition, 'autoscaling:EC2_INSTANCE_TERMINATING');
    assert.equal(hook.heartbeat_timeout, LIFECYCLE_HOOK_TIMEOUT_SECONDS);
    assert.ok(hook.heartbeat_timeout >= DRAIN_POLL_SECONDS + STOP_TIMEOUT_SECONDS + DRAIN_MARGIN_SECONDS);
    assert.ok(hook.heartbeat_timeout >= 30, 'AWS minimum');
  });

  test('systemd kills only after a clean stop had its time: the unit\'s TimeoutStopSec is STOP_TIMEOUT_SECONDS', () => {
    const unit = readFileSync(new URL('../../packer/files/chat.service', import.meta.url), 'utf8');
    const values = [...unit.matchAll(/^TimeoutStopSec=(\d+)s?$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(values, [STOP_TIMEOUT_SECONDS]);
    assert.ok(STOP_TIMEOUT_SECONDS >= DEFAULT_DRAIN_SECONDS + DRAIN_EXIT_GRACE_SECONDS + DRAIN_MARGIN_SECONDS);
  });

  test('the watcher polls at the module\'s interval and the service gets its drain time from the same module', () => {
    const script = userData(dev);
    assert.ok(script.includes(`do sleep ${DRAIN_POLL_SECONDS}; done`));
    assert.ok(script.includes(`DRAIN_SECONDS=${DEFAULT_DRAIN_SECONDS}\\n`));
  });
});

describe('metrics that scale the fleet', () => {
  for (const [name, stack] of both) {
    test(`${name}: connections target tracking reads exactly what the agent publishes`, () => {
      const policy = resources(stack, 'aws_autoscaling_policy').find((p) => p.target_tracking_configuration.customized_metric_specification);
      const spec = policy.target_tracking_configuration.customized_metric_specification;
      assert.equal(spec.namespace, SERVICE_METRICS_NAMESPACE);
      assert.equal(spec.metric_name, PUBLISHED_METRICS.connections);
      assert.equal(spec.statistic, 'Average');
      const group = only(stack, 'aws_autoscaling_group');
      assert.deepEqual(spec.metric_dimension, [{ name: SERVICE_METRICS_DIMENSION, value: ref(stack, 'aws_autoscaling_group', group, 'name') }]);
      assert.equal(policy.target_tracking_configuration.target_value, environments[name].compute.connectionsScaling!.targetValue);
    });
  }

  test('the instances may put metrics in the service namespace, and only there and CWAgent', () => {
    const role = resources(dev, 'aws_iam_role').find((r) => r.name === 'chat-dev-instance');
    const policy = resources(dev, 'aws_iam_role_policy').find((p) => p.role === ref(dev, 'aws_iam_role', role, 'id'));
    const put = policyDocument(dev, policy.policy).statement.find((s: Json) => s.actions.includes('cloudwatch:PutMetricData'));
    assert.deepEqual(put.condition[0].values.sort(), ['CWAgent', SERVICE_METRICS_NAMESPACE].sort());
  });

  test('the group name the agent labels with is the group the policy tracks', () => {
    const script = userData(dev);
    assert.ok(script.includes("/opt/chat/bin/chat-configure-logs '"));
    assert.ok(script.includes(`' 'chat-dev'`) || script.includes(`'chat-dev'\\n`), 'configure-logs gets the group name');
    assert.equal(only(dev, 'aws_autoscaling_group').name, 'chat-dev');
  });
});

describe('the public listener hides health and metrics', () => {
  for (const [name, stack] of both) {
    test(`${name}: /metrics, /healthz and /readyz answer a fixed 404 before any forward`, () => {
      const https = resources(stack, 'aws_lb_listener').find((l) => l.port === 443);
      const [rule] = resources(stack, 'aws_lb_listener_rule');
      assert.equal(rule.listener_arn, ref(stack, 'aws_lb_listener', https, 'arn'));
      assert.equal(rule.priority, 1);
      assert.deepEqual(rule.condition, [{ path_pattern: { values: [PATHS.health, PATHS.ready, PATHS.metrics] } }]);
      assert.equal(rule.action[0].type, 'fixed-response');
      assert.equal(rule.action[0].fixed_response.status_code, '404');
      assert.doesNotMatch(rule.action[0].fixed_response.message_body, /i-|instance/);
    });
  }
});

describe('operability', () => {
  for (const [name, stack] of both) {
    const env = environments[name];
    test(`${name}: ALB access and connection logs to a private, encrypted, TLS-only bucket with lifecycle`, () => {
      const alb = only(stack, 'aws_lb');
      const bucket = only(stack, 'aws_s3_bucket');
      const bucketId = ref(stack, 'aws_s3_bucket', bucket, 'id');
      assert.deepEqual(alb.access_logs, { enabled: true, bucket: bucketId, prefix: 'access' });
      assert.deepEqual(alb.connection_logs, { enabled: true, bucket: bucketId, prefix: 'connection' });
      const encryption = only(stack, 'aws_s3_bucket_server_side_encryption_configuration');
      assert.equal(encryption.bucket, bucketId);
      assert.equal(encryption.rule[0].apply_server_side_encryption_by_default.sse_algorithm, 'AES256');
      const block = only(stack, 'aws_s3_bucket_public_access_block');
      for (const key of ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets']) assert.equal(block[key], true, key);
      const [rule] = only(stack, 'aws_s3_bucket_lifecycle_configuration').rule;
      assert.equal(rule.status, 'Enabled');
      assert.deepEqual(rule.expiration, [{ days: env.observability.logRetentionDays }]);
      const policy: string = only(stack, 'aws_s3_bucket_policy').policy;
      assert.deepEqual([...policy.matchAll(/"Sid" = "(\w+)"/g)].map((m) => m[1]), ['ElbAccountDelivers', 'LogDeliveryServiceDelivers', 'TlsOnly']);
      assert.match(policy, /"aws:SecureTransport" = "false"/);
      assert.ok(alb.depends_on.some((d: string) => d.startsWith('aws_s3_bucket_policy.')), 'logging waits for the bucket policy');
    });

    test(`${name}: cache slow log and engine log delivered to encrypted log groups`, () => {
      const group = only(stack, 'aws_elasticache_replication_group');
      const delivery = group.log_delivery_configuration;
      assert.deepEqual(delivery.map((d: Json) => d.log_type).sort(), ['engine-log', 'slow-log']);
      for (const d of delivery) {
        assert.equal(d.destination_type, 'cloudwatch-logs');
        const logGroup = resources(stack, 'aws_cloudwatch_log_group').find((g) => d.destination === ref(stack, 'aws_cloudwatch_log_group', g, 'name'));
        assert.ok(logGroup?.kms_key_id, `${d.log_type} goes to an encrypted group of this stack`);
      }
    });

    test(`${name}: every alarm notifies the encrypted alarm topic, subscribed from config`, () => {
      const topic = only(stack, 'aws_sns_topic');
      assert.ok(topic.kms_master_key_id);
      const topicArn = ref(stack, 'aws_sns_topic', topic, 'arn');
      for (const alarm of resources(stack, 'aws_cloudwatch_metric_alarm')) {
        assert.deepEqual(alarm.alarm_actions, [topicArn], alarm.alarm_name);
      }
      const subscriptions = resources(stack, 'aws_sns_topic_subscription').map((s) => ({ protocol: s.protocol, endpoint: s.endpoint, topic: s.topic_arn }));
      assert.deepEqual(subscriptions, env.observability.alarmSubscriptions.map((s) => ({ ...s, topic: topicArn })));
      // The key lets CloudWatch publish to the topic.
      const key = only(stack, 'aws_kms_key');
      assert.match(key.policy, /cloudwatch\.amazonaws\.com/);
    });

    test(`${name}: ALLOWED_ORIGINS is the environment's own domain`, () => {
      assert.ok(userData(stack).includes(`ALLOWED_ORIGINS=https://${env.dns.domainName}\\n`));
    });
  }

  test('prod must have at least one alarm subscriber', () => {
    const prodEnv = structuredClone(environments.prod) as Json;
    prodEnv.observability.alarmSubscriptions = [];
    assert.throws(() => validateEnvironments({ prod: prodEnv }), /prod\.observability\.alarmSubscriptions: must name at least one subscriber/);
    assert.ok(environments.prod.observability.alarmSubscriptions.length > 0);
  });

  test('ALLOWED_ORIGINS and DRAIN_SECONDS cannot be set by hand', () => {
    for (const variable of ['ALLOWED_ORIGINS', 'DRAIN_SECONDS']) {
      const devEnv = structuredClone(environments.dev) as Json;
      devEnv.compute.serviceEnv = { [variable]: 'x' };
      assert.throws(() => validateEnvironments({ dev: devEnv }), new RegExp(`dev\\.compute\\.serviceEnv\\.${variable}: is set by the stack itself`));
    }
  });
});

describe('data lifetime', () => {
  for (const [name, stack] of both) {
    test(`${name}: the cache evicts only keys with a TTL, and a parameter change makes a new group first`, () => {
      const parameters = only(stack, 'aws_elasticache_parameter_group');
      const policy = parameters.parameter.find((p: Json) => p.name === 'maxmemory-policy');
      assert.match(policy.value, /^(volatile-(lru|lfu|random|ttl)|noeviction)$/);
      assert.equal(parameters.lifecycle.create_before_destroy, true);
      // The name changes with the settings and the family, so the new group never collides with the old.
      assert.match(parameters.name, new RegExp(`^chat-${name}-${parameters.family}-[0-9a-f]{8}$`));
      assert.equal(only(stack, 'aws_elasticache_replication_group').parameter_group_name, ref(stack, 'aws_elasticache_parameter_group', parameters, 'name'));
    });

    test(`${name}: history expires, so the volatile eviction policy can reclaim it`, () => {
      // With volatile-* eviction, a key without a TTL is never evicted: history
      // without HISTORY_TTL would fill the cache until writes fail.
      const ttl = /HISTORY_TTL=(\d+)\\n/.exec(userData(stack));
      assert.ok(ttl, 'the boot script sets HISTORY_TTL');
      assert.ok(Number(ttl[1]) > 0, `HISTORY_TTL=${ttl[1]} expires`);
    });

    test(`${name}: client addresses come through the load balancer, so per-address caps and logs see clients`, () => {
      const env = environments[name as keyof typeof environments];
      // The ALB sits in the VPC: its hops are trusted, and X-Forwarded-For names the client.
      assert.ok(userData(stack).includes(`TRUSTED_PROXIES=${env.network.cidr}\\n`), 'TRUSTED_PROXIES is the VPC range');
      const cap = /MAX_CONNECTIONS_PER_ADDRESS=(\d+)\\n/.exec(userData(stack));
      assert.ok(cap && Number(cap[1]) > 0, 'a per-address cap is set');
    });
  }
});

describe('docs/deploy.md states the drain timings of service/src/drain.ts', () => {
  const doc = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
  const row = (label: string) => {
    const line = doc.split('\n').find((l) => l.startsWith(`| ${label}`));
    assert.ok(line, `row "${label}" in the drain timing table`);
    return Number(line.split('|')[2].trim());
  };
  test('every row of the table is the constant it names', () => {
    assert.equal(row('watcher poll'), DRAIN_POLL_SECONDS);
    assert.equal(row('service keeps serving'), DEFAULT_DRAIN_SECONDS);
    assert.equal(row('closing window'), DRAIN_EXIT_GRACE_SECONDS);
    assert.equal(row('margin'), DRAIN_MARGIN_SECONDS);
    assert.equal(row('systemd `TimeoutStopSec`'), STOP_TIMEOUT_SECONDS);
    assert.equal(row('target group deregistration delay'), DEREGISTRATION_DELAY_SECONDS);
    assert.equal(row('termination hook timeout'), LIFECYCLE_HOOK_TIMEOUT_SECONDS);
  });
});
