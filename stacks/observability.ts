// Log group of the service and the alarms an operator needs first: errors at
// the load balancer, unhealthy targets, cache CPU, memory and evictions, and the
// service's own figures (stacks/metrics.ts). Alarms notify an encrypted SNS
// topic whose subscriptions come from config.
import { Construct } from './cdktf.js';
import { CloudwatchLogGroup, CloudwatchMetricAlarm, SnsTopic, SnsTopicSubscription } from './providers.js';
import type { AlarmSubscription } from '../config/types.js';
import { PUBLISHED_METRICS, SERVICE_METRICS_DIMENSION, SERVICE_METRICS_NAMESPACE } from './metrics.js';

export interface ServiceLogsProps {
  readonly name: string;
  readonly retentionDays: number;
  readonly kmsKeyArn: string;
}

/** An encrypted log group with bounded retention. */
export class EncryptedLogGroup extends Construct {
  readonly group: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: ServiceLogsProps) {
    super(scope, id);
    this.group = new CloudwatchLogGroup(this, 'group', {
      name: props.name,
      retentionInDays: props.retentionDays,
      kmsKeyId: props.kmsKeyArn,
    });
  }
}

export interface AlarmTopicProps {
  readonly namePrefix: string;
  readonly kmsKeyArn: string;
  readonly subscriptions: readonly AlarmSubscription[];
}

/** Where every alarm goes: an encrypted topic with the configured subscribers. */
export class AlarmTopic extends Construct {
  readonly topic: SnsTopic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    this.topic = new SnsTopic(this, 'topic', { name: `${props.namePrefix}-alarms`, kmsMasterKeyId: props.kmsKeyArn });
    props.subscriptions.forEach((subscription, index) => {
      new SnsTopicSubscription(this, `subscription-${index}`, {
        topicArn: this.topic.arn,
        protocol: subscription.protocol,
        endpoint: subscription.endpoint,
      });
    });
  }
}

export interface AlarmsProps {
  readonly namePrefix: string;
  /** ARN suffixes, the form the ALB metrics use as dimensions. */
  readonly loadBalancerArnSuffix: string;
  readonly targetGroupArnSuffix: string;
  readonly cacheNodeIds: string[];
  /** Name of the Auto Scaling group, the dimension of the service's own metrics. */
  readonly autoScalingGroupName: string;
  readonly alarmTopicArn: string;
}

/** Alarms that stop an instance refresh and roll it back: what a bad release breaks first. */
export const ROLLBACK_ALARM_IDS = ['alb-5xx', 'target-5xx', 'event-loop-lag'] as const;

interface AlarmSpec {
  readonly id: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly statistic: 'Sum' | 'Average' | 'Maximum' | 'Minimum';
  readonly comparison?: 'GreaterThanThreshold' | 'LessThanThreshold';
  readonly threshold: number;
  readonly periodSeconds?: number;
  readonly evaluationPeriods?: number;
  /** Default: no data is not an alarm. */
  readonly treatMissingData?: 'notBreaching' | 'breaching' | 'missing';
}

export class Alarms extends Construct {
  readonly alarms: CloudwatchMetricAlarm[] = [];
  private readonly byId = new Map<string, CloudwatchMetricAlarm>();

  /** Names as references, so Terraform creates the alarms before the group that watches them. */
  get rollbackAlarmNames(): string[] {
    return ROLLBACK_ALARM_IDS.map((id) => this.byId.get(id)!.alarmName);
  }


  constructor(scope: Construct, id: string, private readonly props: AlarmsProps) {
    super(scope, id);
    const lb = { LoadBalancer: props.loadBalancerArnSuffix };
    this.add({
      id: 'alb-5xx',
      description: 'The load balancer itself answered 5xx (no healthy target, or targets failing to respond)',
      namespace: 'AWS/ApplicationELB',
      metricName: 'HTTPCode_ELB_5XX_Count',
      dimensions: lb,
      statistic: 'Sum',
      threshold: 10,
    });
    this.add({
      id: 'target-5xx',
      description: 'The service answered 5xx through the load balancer',
      namespace: 'AWS/ApplicationELB',
      metricName: 'HTTPCode_Target_5XX_Count',
      dimensions: lb,
      statistic: 'Sum',
      threshold: 10,
    });
    const service = { [SERVICE_METRICS_DIMENSION]: props.autoScalingGroupName };
    this.add({
      id: 'event-loop-lag',
      description: 'The service\'s event loop lags (p99 above 0.5 s): instances are overloaded or a release is slow',
      namespace: SERVICE_METRICS_NAMESPACE,
      metricName: PUBLISHED_METRICS.eventLoopLag,
      dimensions: service,
      statistic: 'Maximum',
      threshold: 0.5,
      evaluationPeriods: 3,
    });
    this.add({
      id: 'redis-disconnected',
      description: 'An instance has no Redis connection: it answers /readyz 503 and takes no traffic (instances are not replaced for it)',
      namespace: SERVICE_METRICS_NAMESPACE,
      metricName: PUBLISHED_METRICS.redisConnected,
      dimensions: service,
      statistic: 'Minimum',
      threshold: 1,
      comparison: 'LessThanThreshold',
    });
    this.add({
      id: 'unhealthy-hosts',
      description: 'At least one instance fails /readyz (Redis unreachable, draining too long, or crashed)',
      namespace: 'AWS/ApplicationELB',
      metricName: 'UnHealthyHostCount',
      dimensions: { ...lb, TargetGroup: props.targetGroupArnSuffix },
      statistic: 'Maximum',
      threshold: 0,
      evaluationPeriods: 3,
    });
    for (const node of props.cacheNodeIds) {
      const dimensions = { CacheClusterId: node };
      this.add({
        id: `cache-cpu-${node}`,
        description: `Cache node ${node}: the engine thread is busy (fan-out is single-threaded per node)`,
        namespace: 'AWS/ElastiCache',
        metricName: 'EngineCPUUtilization',
        dimensions,
        statistic: 'Average',
        threshold: 80,
        evaluationPeriods: 3,
      });
      this.add({
        id: `cache-memory-${node}`,
        description: `Cache node ${node}: memory nearly full; history gets evicted`,
        namespace: 'AWS/ElastiCache',
        metricName: 'DatabaseMemoryUsagePercentage',
        dimensions,
        statistic: 'Average',
        threshold: 85,
        evaluationPeriods: 3,
      });
      this.add({
        id: `cache-evictions-${node}`,
        description: `Cache node ${node}: keys are being evicted`,
        namespace: 'AWS/ElastiCache',
        metricName: 'Evictions',
        dimensions,
        statistic: 'Sum',
        threshold: 0,
      });
    }
  }

  private add(spec: AlarmSpec): void {
    const actions = [this.props.alarmTopicArn];
    const alarm = new CloudwatchMetricAlarm(this, spec.id, {
      alarmName: `${this.props.namePrefix}-${spec.id}`,
      alarmDescription: spec.description,
      namespace: spec.namespace,
      metricName: spec.metricName,
      dimensions: spec.dimensions,
      statistic: spec.statistic,
      period: spec.periodSeconds ?? 60,
      evaluationPeriods: spec.evaluationPeriods ?? 2,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison ?? 'GreaterThanThreshold',
      // No requests means no 5xx datapoints; that is not an alarm.
      treatMissingData: spec.treatMissingData ?? 'notBreaching',
      alarmActions: actions,
      okActions: actions,
    });
    this.alarms.push(alarm);
    this.byId.set(spec.id, alarm);
  }
}
