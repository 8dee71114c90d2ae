// Log group of the service and the alarms an operator needs first: errors at
// the load balancer, unhealthy targets, and cache CPU, memory and evictions.
import { Construct } from './cdktf.js';
import { CloudwatchLogGroup, CloudwatchMetricAlarm } from './providers.js';

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

export interface AlarmsProps {
  readonly namePrefix: string;
  /** ARN suffixes, the form the ALB metrics use as dimensions. */
  readonly loadBalancerArnSuffix: string;
  readonly targetGroupArnSuffix: string;
  readonly cacheNodeIds: string[];
  readonly alarmTopicArn: string | null;
}

interface AlarmSpec {
  readonly id: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly statistic: 'Sum' | 'Average' | 'Maximum';
  readonly threshold: number;
  readonly periodSeconds?: number;
  readonly evaluationPeriods?: number;
}

export class Alarms extends Construct {
  readonly alarms: CloudwatchMetricAlarm[] = [];

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
    const actions = this.props.alarmTopicArn ? [this.props.alarmTopicArn] : [];
    this.alarms.push(
      new CloudwatchMetricAlarm(this, spec.id, {
        alarmName: `${this.props.namePrefix}-${spec.id}`,
        alarmDescription: spec.description,
        namespace: spec.namespace,
        metricName: spec.metricName,
        dimensions: spec.dimensions,
        statistic: spec.statistic,
        period: spec.periodSeconds ?? 60,
        evaluationPeriods: spec.evaluationPeriods ?? 2,
        threshold: spec.threshold,
        comparisonOperator: 'GreaterThanThreshold',
        // No requests means no 5xx datapoints; that is not an alarm.
        treatMissingData: 'notBreaching',
        alarmActions: actions,
        okActions: actions,
      }),
    );
  }
}
