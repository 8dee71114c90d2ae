// Public dual-stack Application Load Balancer: HTTPS with a TLS 1.2/1.3 policy,
// HTTP answered with a 301 to HTTPS, one target group for the service instances.
import { Construct } from './cdktf.js';
import { Lb, LbListener, LbTargetGroup } from './providers.js';
import type { AcmCertificateValidation } from './providers.js';

/** TLS 1.3 plus TLS 1.2 with forward-secret AEAD ciphers only. */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

export interface LoadBalancerProps {
  readonly namePrefix: string;
  readonly vpcId: string;
  readonly subnetIds: string[];
  readonly securityGroupId: string;
  readonly certificate: AcmCertificateValidation;
  readonly servicePort: number;
  readonly healthCheckPath: string;
  /** Must exceed the service's ping interval, or idle WebSockets get cut between pings. */
  readonly idleTimeoutSeconds: number;
  /** How long a deregistering instance keeps its connections: the service's drain time. */
  readonly deregistrationDelaySeconds: number;
  readonly stickiness: boolean;
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
    });

    this.targetGroup = new LbTargetGroup(this, 'service', {
      name: `${props.namePrefix}-service`,
      vpcId: props.vpcId,
      targetType: 'instance',
      protocol: 'HTTP',
      port: props.servicePort,
      deregistrationDelay: String(props.deregistrationDelaySeconds),
      healthCheck: {
        enabled: true,
        path: props.healthCheckPath,
        protocol: 'HTTP',
        port: 'traffic-port',
        matcher: '200',
        interval: 10,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
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

    new LbListener(this, 'http-redirect', {
      loadBalancerArn: this.alb.arn,
      port: 80,
      protocol: 'HTTP',
      defaultAction: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } }],
    });
  }
}
