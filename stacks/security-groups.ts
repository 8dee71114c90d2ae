// Security groups chained by reference: internet -> ALB (443, and 80 only to
// redirect) -> instances (service port) -> cache (cache port). No SSH anywhere;
// operators use Session Manager.
import { Construct } from './cdktf.js';
import { SecurityGroup, VpcSecurityGroupEgressRule, VpcSecurityGroupIngressRule } from './providers.js';

export interface ServiceSecurityGroupsProps {
  readonly namePrefix: string;
  readonly vpcId: string;
  readonly servicePort: number;
  readonly cachePort: number;
}

type Peer = { readonly cidrIpv4: string } | { readonly cidrIpv6: string } | { readonly group: SecurityGroup };

const INTERNET: readonly Peer[] = [{ cidrIpv4: '0.0.0.0/0' }, { cidrIpv6: '::/0' }];

export class ServiceSecurityGroups extends Construct {
  readonly alb: SecurityGroup;
  readonly instances: SecurityGroup;
  readonly cache: SecurityGroup;

  constructor(scope: Construct, id: string, props: ServiceSecurityGroupsProps) {
    super(scope, id);
    const { namePrefix, vpcId, servicePort, cachePort } = props;
    // Groups carry no inline rules (Terraform then removes AWS's default allow-all egress);
    // every rule below is its own resource so groups can refer to each other without cycles.
    const group = (name: string, description: string) =>
      new SecurityGroup(this, name, { name: `${namePrefix}-${name}`, description, vpcId, tags: { Name: `${namePrefix}-${name}` } });
    this.alb = group('alb', 'Public HTTPS (and HTTP redirect) into the chat load balancer');
    this.instances = group('instances', 'Chat service instances: service port from the load balancer only');
    this.cache = group('cache', 'Chat cache: cache port from the service instances only');

    for (const peer of INTERNET) {
      this.allow('in', this.alb, peer, 443, 'HTTPS from the internet');
      this.allow('in', this.alb, peer, 80, 'HTTP from the internet, answered with a redirect to HTTPS');
    }
    this.allow('out', this.alb, { group: this.instances }, servicePort, 'Requests and WebSockets to the service instances');

    this.allow('in', this.instances, { group: this.alb }, servicePort, 'Service port from the load balancer');
    this.allow('out', this.instances, { group: this.cache }, cachePort, 'TLS connections to the cache');
    // AWS APIs (Session Manager, Secrets Manager, CloudWatch) via NAT or VPC endpoints.
    this.allow('out', this.instances, { cidrIpv4: '0.0.0.0/0' }, 443, 'HTTPS to AWS APIs');

    this.allow('in', this.cache, { group: this.instances }, cachePort, 'Cache port from the service instances');
  }

  private allow(direction: 'in' | 'out', target: SecurityGroup, peer: Peer, port: number, description: string): void {
    const peerId = 'group' in peer ? peer.group.node.id : 'cidrIpv4' in peer ? 'any-v4' : 'any-v6';
    const id = `${target.node.id}-${direction}-${port}-${peerId}`;
    const rule = {
      securityGroupId: target.id,
      description,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      ...('group' in peer ? { referencedSecurityGroupId: peer.group.id } : peer),
    };
    if (direction === 'in') new VpcSecurityGroupIngressRule(this, id, rule);
    else new VpcSecurityGroupEgressRule(this, id, rule);
  }
}
