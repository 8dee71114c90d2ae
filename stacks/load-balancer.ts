// Public dual-stack Application Load Balancer: HTTPS with a TLS 1.2/1.3 policy,
// HTTP answered with a 301 to HTTPS, one target group for the service instances.
// The health and metrics paths are for the VPC only: the public listener answers
// them with a fixed 404. Access and connection logs go to an S3 bucket.
import { Construct } from './cdktf.js';
import { Lb, LbListener, LbListenerRule, LbTargetGroup } from './providers.js';
import type { AcmCertificateValidation } from './providers.js';
import { PATHS } from '../service/src/defaults.js';
import { DEREGISTRATION_DELAY_SECONDS } from '../service/src/drain.js';
import { READINESS } from './health.js';
import { ALB_LOG_PREFIXES, type LoadBalancerLogsBucket } from './logs-bucket.js';

/** Paths the public listener never forwards (the target group's health check reaches the instances directly). */
export const INTERNAL_PATHS = [PATHS.health, PATHS.ready, PATHS.metrics];
/** The same body the service gives any unknown path, so the answer tells nothing. */
export const NOT_FOUND_BODY = '{"error":"not_found"}\n';

/** TLS 1.3 plus TLS 1.2 with forward-secret AEAD ciphers only. */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

export interface LoadBalancerProps {
  readonly namePrefix: string;
  readonly vpcId: string;
  readonly subnetIds: string[];
  readonly securityGroupId: string;
  readonly certificate: AcmCertificateValidation;
  readonly servicePort: number;
  /** Must exceed the service's ping interval, or idle WebSockets get cut between pings. */
  readonly idleTimeoutSeconds: number;
  readonly stickiness: boolean;
  readonly logs: LoadBalancerLogsBucket;
  readonly deletionProtection: boolean;
}

export class LoadBalancer extends Construct {
  readonly alb: Lb;
  readonly targetGroup: LbTargetGroup;
  readonly httpsListener: LbListener;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    this.alb = new Lb(this, 'alb', {
      name: props.namePrefix,
      loadBalancerType: 'application',
      internal: false,
      ipAddressType: 'dualstack',
      subnets: props.subnetIds,
      securityGroups: [props.securityGroupId],
      idleTimeout: props.idleTimeoutSeconds,
      dropInvalidHeaderFields: true,
      desyncMitigationMode: 'strictest',
      enableHttp2: true,
      enableDeletionProtection: props.deletionProtection,
      accessLogs: { enabled: true, bucket: props.logs.bucket.id, prefix: ALB_LOG_PREFIXES.access },
      connectionLogs: { enabled: true, bucket: props.logs.bucket.id, prefix: ALB_LOG_PREFIXES.connection },
      // ELB tests its write access when logging is turned on.
      dependsOn: [props.logs.policy],
    });

    this.targetGroup = new LbTargetGroup(this, 'service', {
      name: `${props.namePrefix}-service`,
      vpcId: props.vpcId,
      targetType: 'instance',
      protocol: 'HTTP',
      port: props.servicePort,
      // Longer than the whole drain sequence (service/src/drain.ts), so the
      // service closes its sockets itself, with 1001, before the balancer would.
      deregistrationDelay: String(DEREGISTRATION_DELAY_SECONDS),
      // Readiness: decides routing only (stacks/health.ts).
      healthCheck: {
        enabled: true,
        path: READINESS.path,
        protocol: 'HTTP',
        port: 'traffic-port',
        matcher: '200',
        interval: READINESS.intervalSeconds,
        timeout: READINESS.timeoutSeconds,
        healthyThreshold: READINESS.healthyThreshold,
        unhealthyThreshold: READINESS.unhealthyThreshold,
      },
      // Off by default: a WebSocket is one long TCP connection that stays on the instance
      // it was opened on, and any instance serves any room through Redis. See docs/deploy.md.
      stickiness: { type: 'lb_cookie', enabled: props.stickiness, cookieDuration: 3600 },
    });

    this.httpsListener = new LbListener(this, 'https', {
      loadBalancerArn: this.alb.arn,
      port: 443,
      protocol: 'HTTPS',
      sslPolicy: TLS_POLICY,
      certificateArn: props.certificate.certificateArn,
      defaultAction: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
    });

    new LbListenerRule(this, 'internal-paths', {
      listenerArn: this.httpsListener.arn,
      priority: 1,
      condition: [{ pathPattern: { values: INTERNAL_PATHS } }],
      action: [
        { type: 'fixed-response', fixedResponse: { statusCode: '404', contentType: 'application/json', messageBody: NOT_FOUND_BODY } },
      ],
    });

    new LbListener(this, 'http-redirect', {
      loadBalancerArn: this.alb.arn,
      port: 80,
      protocol: 'HTTP',
      defaultAction: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } }],
    });
  }
}
