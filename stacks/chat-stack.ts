// One environment of the chat platform: the constructs of stacks/*.ts wired
// together with the service's own constants from service/src/defaults.ts.
import { Construct, TerraformOutput, TerraformStack } from './cdktf.js';
import { AwsProvider } from './providers.js';
import { DEFAULT_PORT, PATHS } from '../service/src/defaults.js';
import type { EnvironmentConfig } from '../config/types.js';
import { configureBackend } from './backend.js';
import { CACHE_PORT, Cache } from './cache.js';
import { Compute } from './compute.js';
import { AliasRecords, ValidatedCertificate } from './dns.js';
import { EncryptionKey } from './encryption-key.js';
import { FlowLogs } from './flow-logs.js';
import { LoadBalancer } from './load-balancer.js';
import { LoadBalancerLogsBucket } from './logs-bucket.js';
import { Network } from './network.js';
import { AlarmTopic, Alarms, EncryptedLogGroup } from './observability.js';
import { ServiceSecurityGroups } from './security-groups.js';
import { WebAcl } from './waf.js';
import { Identity } from './identity.js';
import { PublishApiRule } from './publish-api-rule.js';

export function stackName(env: EnvironmentConfig): string {
  return `chat-${env.name}`;
}

export class ChatStack extends TerraformStack {
  constructor(scope: Construct, env: EnvironmentConfig) {
    const name = stackName(env);
    super(scope, name);
    configureBackend(this, name, env.state);

    new AwsProvider(this, 'aws', {
      region: env.region,
      defaultTags: [{ tags: { ...env.tags, Project: 'chat-platform', Environment: env.name, ManagedBy: 'cdktf' } }],
    });

    const key = new EncryptionKey(this, 'encryption', { namePrefix: name, region: env.region, protect: env.protect });
    const network = new Network(this, 'network', { namePrefix: name, region: env.region, ...env.network });
    if (env.network.flowLogs) {
      new FlowLogs(this, 'flow-logs', {
        namePrefix: name,
        vpcId: network.vpc.id,
        retentionDays: env.observability.logRetentionDays,
        kmsKeyArn: key.key.arn,
      });
    }
    const groups = new ServiceSecurityGroups(this, 'security-groups', {
      namePrefix: name,
      vpcId: network.vpc.id,
      servicePort: DEFAULT_PORT,
      cachePort: CACHE_PORT,
    });

    const certificate = new ValidatedCertificate(this, 'tls', env.dns);
    const albLogs = new LoadBalancerLogsBucket(this, 'alb-logs', {
      namePrefix: name,
      accountId: key.accountId,
      partition: key.partition,
      retentionDays: env.observability.logRetentionDays,
    });
    const lb = new LoadBalancer(this, 'load-balancer', {
      namePrefix: name,
      vpcId: network.vpc.id,
      subnetIds: network.publicSubnets.map((s) => s.id),
      securityGroupId: groups.alb.id,
      certificate: certificate.validation,
      servicePort: DEFAULT_PORT,
      logs: albLogs,
      ...env.loadBalancer,
    });
    // Per-source limits at the edge (on unless the environment turns it off).
    const waf =
      env.waf?.enabled === false
        ? undefined
        : new WebAcl(this, 'waf', {
            namePrefix: name,
            loadBalancerArn: lb.alb.arn,
            rateLimitPer5Minutes: env.waf?.rateLimitPer5Minutes,
            managedRules: env.waf?.managedRules,
            logRetentionDays: env.observability.logRetentionDays,
            kmsKeyArn: key.key.arn,
          });
    new AliasRecords(this, 'dns', {
      zoneId: certificate.zone.zoneId,
      name: env.dns.domainName,
      targetDnsName: lb.alb.dnsName,
      targetZoneId: lb.alb.zoneId,
    });

    const cache = new Cache(this, 'cache', {
      namePrefix: name,
      subnetIds: network.privateSubnets.map((s) => s.id),
      securityGroupId: groups.cache.id,
      kmsKeyArn: key.key.arn,
      logRetentionDays: env.observability.logRetentionDays,
      protect: env.protect,
      ...env.cache,
    });

    const logs = new EncryptedLogGroup(this, 'service-logs', {
      name: `/chat/${name}/service`,
      retentionDays: env.observability.logRetentionDays,
      kmsKeyArn: key.key.arn,
    });

    const identity = new Identity(this, 'identity', { namePrefix: name, kmsKeyArn: key.key.arn, ...env.identity });
    new PublishApiRule(this, 'publish-api', {
      listenerArn: lb.httpsListener.arn,
      targetGroupArn: lb.targetGroup.arn,
      allowedCidrs: env.identity.publishApi?.allowedCidrs ?? [],
    });

    // Before the group: an instance refresh rolls back on these alarms.
    const alarmTopic = new AlarmTopic(this, 'alarm-topic', {
      namePrefix: name,
      kmsKeyArn: key.key.arn,
      subscriptions: env.observability.alarmSubscriptions,
    });
    const alarms = new Alarms(this, 'alarms', {
      namePrefix: name,
      loadBalancerArnSuffix: lb.alb.arnSuffix,
      targetGroupArnSuffix: lb.targetGroup.arnSuffix,
      cacheNodeIds: cache.nodeIds,
      autoScalingGroupName: Compute.groupNameFor(name),
      alarmTopicArn: alarmTopic.topic.arn,
    });

    const compute = new Compute(this, 'compute', {
      namePrefix: name,
      region: env.region,
      accountId: key.accountId,
      partition: key.partition,
      ami: env.ami,
      subnetIds: network.privateSubnets.map((s) => s.id),
      securityGroupId: groups.instances.id,
      targetGroupArn: lb.targetGroup.arn,
      servicePort: DEFAULT_PORT,
      cacheHost: cache.endpoint,
      cachePort: CACHE_PORT,
      cacheName: cache.groupId,
      cacheUserId: cache.serviceUser.userId,
      kmsKeyArn: key.key.arn,
      logGroupName: logs.group.name,
      logGroupArn: logs.group.arn,
      // The page is served from the domain; nothing else may open its sockets.
      allowedOrigins: [`https://${env.dns.domainName}`],
      trustedProxies: env.network.cidr,
      rollbackAlarmNames: alarms.rollbackAlarmNames,
      ...env.compute,
      serviceEnv: { ...env.compute.serviceEnv, ...identity.serviceEnv, ...cache.serviceEnv },
      secretEnv: identity.secretEnv,
    });

    new TerraformOutput(this, 'url', { value: `https://${env.dns.domainName}`, description: 'Chat page' });
    new TerraformOutput(this, 'websocket_url', { value: `wss://${env.dns.domainName}${PATHS.websocket}`, description: 'WebSocket endpoint (k6 --target)' });
    new TerraformOutput(this, 'alb_dns_name', { value: lb.alb.dnsName, description: 'Load balancer DNS name' });
    new TerraformOutput(this, 'cache_endpoint', {
      value: cache.endpoint,
      description: env.cache.clusterMode ? 'Configuration endpoint of the cache (cluster mode)' : 'Primary endpoint of the cache',
    });
    new TerraformOutput(this, 'asg_name', { value: compute.group.name, description: 'Auto Scaling group of the service' });
    new TerraformOutput(this, 'identity_secrets', { value: identity.secretArns, description: 'Secret name → ARN of the identity secrets whose values npm run secrets puts' });
    new TerraformOutput(this, 'log_group', { value: logs.group.name, description: 'CloudWatch log group of the service' });
    if (waf) new TerraformOutput(this, 'waf_web_acl_arn', { value: waf.acl.arn, description: 'WAF web ACL on the load balancer' });
    new TerraformOutput(this, 'alarm_topic_arn', { value: alarmTopic.topic.arn, description: 'SNS topic every alarm notifies' });
    new TerraformOutput(this, 'alb_logs_bucket', { value: albLogs.bucket.id, description: 'S3 bucket of the ALB access and connection logs' });
  }
}
