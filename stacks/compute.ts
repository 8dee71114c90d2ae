// Service instances: launch template from the Packer AMI, an instance role
// limited to Session Manager, the CloudWatch agent, IAM authentication to its
// cache, its own lifecycle hook and health report, and an Auto Scaling group that:
//   - replaces an instance only on EC2 or liveness failure (stacks/health.ts),
//   - rolls a new launch template out launch-before-terminate, with checkpoints
//     and automatic rollback when an alarm fires,
//   - drains instances before terminating them (service/src/drain.ts).
import { Construct, Fn } from './cdktf.js';
import {
  AutoscalingGroup,
  AutoscalingPolicy,
  DataAwsIamPolicyDocument,
  IamInstanceProfile,
  IamRole,
  IamRolePolicy,
  LaunchTemplate,
} from './providers.js';
import { renderUserData } from './user-data.js';
import type { AmiConfig, ComputeConfig } from '../config/types.js';
import { LIFECYCLE_HOOK_TIMEOUT_SECONDS } from '../service/src/drain.js';
import { GROUP_HEALTH_CHECK_TYPE } from './health.js';
import { PUBLISHED_METRICS, SERVICE_METRICS_DIMENSION, SERVICE_METRICS_NAMESPACE } from './metrics.js';

/** Tags the Packer build writes on the AMI (see packer/). */
export const AMI_TAGS = { Project: 'chat-platform', Component: 'chat-service' } as const;

export const LIFECYCLE_HOOK_NAME = 'drain-before-terminate';

/**
 * Every replacement (instance refresh, health replacement) launches the new
 * instance before it terminates the old one: capacity never drops below 100 %.
 */
export const MIN_HEALTHY_PERCENT = 100;
/** An instance refresh pauses at these shares of the fleet, so alarms can see the new instances under load. */
export const REFRESH_CHECKPOINT_PERCENTAGES = [50, 100];
export const REFRESH_CHECKPOINT_DELAY_SECONDS = 300;

export interface ComputeProps extends ComputeConfig {
  readonly namePrefix: string;
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  readonly ami: AmiConfig;
  readonly subnetIds: string[];
  readonly securityGroupId: string;
  readonly targetGroupArn: string;
  readonly servicePort: number;
  readonly cacheHost: string;
  readonly cachePort: number;
  /** Replication group id and RBAC user id the instances authenticate as (IAM, no password). */
  readonly cacheName: string;
  readonly cacheUserId: string;
  /** Service variables read from Secrets Manager at boot: name → secret ARN (stacks/identity.ts). */
  readonly secretEnv?: Readonly<Record<string, string>>;
  readonly kmsKeyArn: string;
  readonly logGroupName: string;
  readonly logGroupArn: string;
  /** Origins the service accepts WebSocket upgrades from (the environment's own domain). */
  readonly allowedOrigins: string[];
  readonly trustedProxies: string;
  /** An instance refresh rolls back when one of these alarms fires. */
  readonly rollbackAlarmNames: string[];
}

export class Compute extends Construct {
  readonly role: IamRole;
  readonly launchTemplate: LaunchTemplate;
  readonly group: AutoscalingGroup;
  readonly groupName: string;

  static groupNameFor(namePrefix: string): string {
    return namePrefix;
  }

  constructor(scope: Construct, id: string, props: ComputeProps) {
    super(scope, id);
    // A fixed name lets the user data (part of the launch template) and the alarms name the group without a cycle.
    this.groupName = Compute.groupNameFor(props.namePrefix);
    this.role = this.instanceRole(props);
    const profile = new IamInstanceProfile(this, 'profile', { name: `${props.namePrefix}-instance`, role: this.role.name });

    const userData = renderUserData({
      region: props.region,
      cacheName: props.cacheName,
      cacheUserId: props.cacheUserId,
      cacheHost: props.cacheHost,
      cachePort: props.cachePort,
      servicePort: props.servicePort,
      logGroupName: props.logGroupName,
      logLevel: props.logLevel,
      serviceEnv: props.serviceEnv,
      secretEnv: props.secretEnv,
      autoScalingGroupName: this.groupName,
      lifecycleHookName: LIFECYCLE_HOOK_NAME,
      allowedOrigins: props.allowedOrigins,
      trustedProxies: props.trustedProxies,
    });

    const instanceTags = { Name: `${props.namePrefix}-service`, Component: 'chat-service' };
    this.launchTemplate = new LaunchTemplate(this, 'template', {
      namePrefix: `${props.namePrefix}-`,
      description: 'Chat service instance from the Packer AMI',
      imageId: this.imageId(props.ami),
      instanceType: props.instanceType,
      iamInstanceProfile: { arn: profile.arn },
      vpcSecurityGroupIds: [props.securityGroupId],
      userData: Fn.base64encode(userData),
      updateDefaultVersion: true,
      metadataOptions: {
        httpEndpoint: 'enabled',
        httpTokens: 'required',
        // 1 hop: containers or proxies on the instance cannot borrow its credentials.
        httpPutResponseHopLimit: 1,
      },
      blockDeviceMappings: [
        {
          deviceName: '/dev/xvda',
          ebs: { volumeType: 'gp3', volumeSize: props.rootVolumeGiB, encrypted: 'true', deleteOnTermination: 'true' },
        },
      ],
      monitoring: { enabled: true },
      tagSpecifications: [
        { resourceType: 'instance', tags: instanceTags },
        { resourceType: 'volume', tags: instanceTags },
      ],
    });

    this.group = new AutoscalingGroup(this, 'group', {
      name: this.groupName,
      vpcZoneIdentifier: props.subnetIds,
      minSize: props.minSize,
      maxSize: props.maxSize,
      desiredCapacity: props.desiredCapacity,
      launchTemplate: { id: this.launchTemplate.id, version: this.launchTemplate.latestVersion.toString() },
      targetGroupArns: [props.targetGroupArn],
      // Not 'ELB': readiness fails on every instance while Redis is away, and
      // replacing the fleet then would only drop every socket. The liveness
      // watchdog reports a dead or wedged process itself (stacks/health.ts).
      healthCheckType: GROUP_HEALTH_CHECK_TYPE,
      healthCheckGracePeriod: props.healthCheckGraceSeconds,
      defaultInstanceWarmup: props.healthCheckGraceSeconds,
      instanceMaintenancePolicy: {
        minHealthyPercentage: MIN_HEALTHY_PERCENT,
        maxHealthyPercentage: props.instanceRefreshMaxHealthyPercent,
      },
      // A new launch template version (new AMI, new user data) replaces instances
      // launch-before-terminate, pausing at checkpoints; an alarm rolls it back.
      instanceRefresh: {
        strategy: 'Rolling',
        preferences: {
          minHealthyPercentage: MIN_HEALTHY_PERCENT,
          maxHealthyPercentage: props.instanceRefreshMaxHealthyPercent,
          instanceWarmup: String(props.healthCheckGraceSeconds),
          checkpointPercentages: REFRESH_CHECKPOINT_PERCENTAGES,
          checkpointDelay: String(REFRESH_CHECKPOINT_DELAY_SECONDS),
          skipMatching: false,
          autoRollback: true,
          alarmSpecification: { alarms: props.rollbackAlarmNames },
        },
      },
      initialLifecycleHook: [
        {
          name: LIFECYCLE_HOOK_NAME,
          lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          heartbeatTimeout: LIFECYCLE_HOOK_TIMEOUT_SECONDS,
          defaultResult: 'CONTINUE',
        },
      ],
      enabledMetrics: ['GroupDesiredCapacity', 'GroupInServiceInstances', 'GroupPendingInstances', 'GroupTerminatingInstances'],
      tag: [
        { key: 'Name', value: instanceTags.Name, propagateAtLaunch: true },
        { key: 'Component', value: instanceTags.Component, propagateAtLaunch: true },
      ],
      // Scaling policies own the desired capacity once the group exists.
      lifecycle: { ignoreChanges: ['desired_capacity'] },
    });

    this.scalingPolicies(props);
  }

  // Delivery: the id pinned in config, never a "most recent" lookup, so the applied plan
  // starts exactly the image the reviewed plan named.
  private imageId(ami: AmiConfig): string {
    return ami.amiId;
  }

  private instanceRole(props: ComputeProps): IamRole {
    const arn = (service: string, resource: string) => `arn:${props.partition}:${service}:${props.region}:${props.accountId}:${resource}`;
    const assume = new DataAwsIamPolicyDocument(this, 'assume', {
      statement: [{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }] }],
    });
    const role = new IamRole(this, 'role', { name: `${props.namePrefix}-instance`, assumeRolePolicy: assume.json });

    // Written out instead of the AWS managed policies: AmazonSSMManagedInstanceCore also grants
    // ssm:GetParameter(s) on every parameter, and the instances must read nothing but their secret.
    const policy = new DataAwsIamPolicyDocument(this, 'permissions', {
      statement: [
        { sid: 'SessionManagerRegister', actions: ['ssm:UpdateInstanceInformation'], resources: [arn('ec2', 'instance/*')] },
        {
          sid: 'SessionManagerChannels',
          actions: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
          resources: ['*'],
        },
        {
          sid: 'CloudWatchAgentLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [props.logGroupArn, `${props.logGroupArn}:*`],
        },
        {
          sid: 'CloudWatchAgentMetrics',
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          condition: [{ test: 'StringEquals', variable: 'cloudwatch:namespace', values: ['CWAgent', SERVICE_METRICS_NAMESPACE] }],
        },
        // Lets the agent add the Auto Scaling group name as a metric dimension.
        { sid: 'CloudWatchAgentTags', actions: ['ec2:DescribeTags'], resources: ['*'] },
        // Identity: the token secret and the publish API key, read at boot (stacks/identity.ts).
        ...this.secretStatements(props),
        // Delivery: sign IAM auth tokens for this cache as this user only.
        {
          sid: 'ConnectToCacheAsServiceUser',
          actions: ['elasticache:Connect'],
          resources: [arn('elasticache', `replicationgroup:${props.cacheName}`), arn('elasticache', `user:${props.cacheUserId}`)],
        },
        {
          sid: 'ReleaseTerminationHook',
          actions: ['autoscaling:CompleteLifecycleAction'],
          resources: [arn('autoscaling', `autoScalingGroup:*:autoScalingGroupName/${this.groupName}`)],
        },
        {
          // The liveness watchdog reports a dead or wedged service (stacks/health.ts).
          sid: 'ReportLiveness',
          actions: ['autoscaling:SetInstanceHealth'],
          resources: [arn('autoscaling', `autoScalingGroup:*:autoScalingGroupName/${this.groupName}`)],
        },
      ],
    });
    new IamRolePolicy(this, 'policy', { name: 'chat-instance', role: role.id, policy: policy.json });
    return role;
  }


  /** Read access to the service's own secrets, and their key only through Secrets Manager; none when it has none. */
  private secretStatements(props: ComputeProps) {
    const arns = Object.values(props.secretEnv ?? {});
    if (arns.length === 0) return [];
    return [
      { sid: 'ReadServiceSecrets', actions: ['secretsmanager:GetSecretValue'], resources: arns },
      {
        sid: 'DecryptServiceSecrets',
        actions: ['kms:Decrypt'],
        resources: [props.kmsKeyArn],
        condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`secretsmanager.${props.region}.amazonaws.com`] }],
      },
    ];
  }

  private scalingPolicies(props: ComputeProps): void {
    new AutoscalingPolicy(this, 'cpu-target', {
      name: 'cpu-target-tracking',
      autoscalingGroupName: this.group.name,
      policyType: 'TargetTrackingScaling',
      targetTrackingConfiguration: {
        predefinedMetricSpecification: { predefinedMetricType: 'ASGAverageCPUUtilization' },
        targetValue: props.cpuTargetPercent,
      },
    });
    const connections = props.connectionsScaling;
    if (!connections) return;
    // WebSocket load is mostly idle connections: CPU can stay low while memory and
    // fan-out grow with the connection count, so track that too. The CloudWatch
    // agent publishes it from /metrics under exactly this name (stacks/metrics.ts).
    new AutoscalingPolicy(this, 'connections-target', {
      name: 'connections-target-tracking',
      autoscalingGroupName: this.group.name,
      policyType: 'TargetTrackingScaling',
      targetTrackingConfiguration: {
        customizedMetricSpecification: {
          namespace: SERVICE_METRICS_NAMESPACE,
          metricName: PUBLISHED_METRICS.connections,
          statistic: 'Average',
          metricDimension: [{ name: SERVICE_METRICS_DIMENSION, value: this.group.name }],
        },
        targetValue: connections.targetValue,
      },
    });
  }
}
