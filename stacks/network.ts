// VPC over N availability zones: dual-stack public subnets for the ALB,
// IPv4-only private subnets for the instances and the cache, and outbound
// access for the private subnets chosen by `natMode` (see config/types.ts).
import { Construct, Fn } from './cdktf.js';
import {
  DefaultSecurityGroup,
  Eip,
  InternetGateway,
  NatGateway,
  Route,
  RouteTable,
  RouteTableAssociation,
  SecurityGroup,
  Subnet,
  Vpc,
  VpcEndpoint,
  VpcSecurityGroupIngressRule,
} from './providers.js';
import type { NatMode } from '../config/types.js';

export interface NetworkProps {
  readonly namePrefix: string;
  readonly cidr: string;
  readonly availabilityZones: readonly string[];
  readonly natMode: NatMode;
  readonly region: string;
}

/**
 * Without NAT the instances still need these AWS APIs: Session Manager,
 * the cache auth secret, CloudWatch (logs, metrics, and EC2 tags for the
 * agent's dimensions) and the lifecycle hook.
 */
const INTERFACE_ENDPOINT_SERVICES = ['ssm', 'ssmmessages', 'secretsmanager', 'logs', 'monitoring', 'autoscaling', 'ec2'];

/** The VPC is cut into 16 equal slices: public subnets take 0..7, private 8..15. */
const SUBNET_NEWBITS = 4;
const PRIVATE_SLICE_OFFSET = 8;

export class Network extends Construct {
  readonly vpc: Vpc;
  readonly publicSubnets: Subnet[] = [];
  readonly privateSubnets: Subnet[] = [];
  readonly natGateways: NatGateway[] = [];

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { namePrefix, cidr, natMode, availabilityZones } = props;
    const azCount = availabilityZones.length;
    this.vpc = new Vpc(this, 'vpc', {
      cidrBlock: cidr,
      assignGeneratedIpv6CidrBlock: true,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: namePrefix },
    });
    // The default group is attached to anything created without a group; make it deny all.
    new DefaultSecurityGroup(this, 'default-sg', { vpcId: this.vpc.id, tags: { Name: `${namePrefix}-default-deny` } });

    const igw = new InternetGateway(this, 'igw', { vpcId: this.vpc.id, tags: { Name: namePrefix } });
    const publicRoutes = new RouteTable(this, 'public-rt', { vpcId: this.vpc.id, tags: { Name: `${namePrefix}-public` } });
    new Route(this, 'public-default-v4', { routeTableId: publicRoutes.id, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw.id });
    new Route(this, 'public-default-v6', { routeTableId: publicRoutes.id, destinationIpv6CidrBlock: '::/0', gatewayId: igw.id });

    availabilityZones.forEach((az, i) => {
      const publicSubnet = new Subnet(this, `public-${i}`, {
        vpcId: this.vpc.id,
        availabilityZone: az,
        cidrBlock: Fn.cidrsubnet(cidr, SUBNET_NEWBITS, i),
        ipv6CidrBlock: Fn.cidrsubnet(this.vpc.ipv6CidrBlock, 8, i),
        // Only the ALB lives here; nothing should get a public address implicitly.
        mapPublicIpOnLaunch: false,
        tags: { Name: `${namePrefix}-public-${i}`, Tier: 'public' },
      });
      new RouteTableAssociation(this, `public-rta-${i}`, { subnetId: publicSubnet.id, routeTableId: publicRoutes.id });
      this.publicSubnets.push(publicSubnet);

      this.privateSubnets.push(
        new Subnet(this, `private-${i}`, {
          vpcId: this.vpc.id,
          availabilityZone: az,
          cidrBlock: Fn.cidrsubnet(cidr, SUBNET_NEWBITS, PRIVATE_SLICE_OFFSET + i),
          mapPublicIpOnLaunch: false,
          tags: { Name: `${namePrefix}-private-${i}`, Tier: 'private' },
        }),
      );
    });

    const natCount = natMode === 'per-az' ? azCount : natMode === 'single' ? 1 : 0;
    for (let i = 0; i < natCount; i++) {
      const eip = new Eip(this, `nat-eip-${i}`, { domain: 'vpc', tags: { Name: `${namePrefix}-nat-${i}` } });
      this.natGateways.push(
        new NatGateway(this, `nat-${i}`, {
          allocationId: eip.allocationId,
          subnetId: this.publicSubnets[i].id,
          tags: { Name: `${namePrefix}-nat-${i}` },
          dependsOn: [igw],
        }),
      );
    }

    const privateRouteTables = this.privateSubnets.map((subnet, i) => {
      const table = new RouteTable(this, `private-rt-${i}`, { vpcId: this.vpc.id, tags: { Name: `${namePrefix}-private-${i}` } });
      new RouteTableAssociation(this, `private-rta-${i}`, { subnetId: subnet.id, routeTableId: table.id });
      if (natCount > 0) {
        // per-az: each AZ uses its own gateway; single: every AZ goes through gateway 0.
        const nat = this.natGateways[natMode === 'per-az' ? i : 0];
        new Route(this, `private-default-${i}`, { routeTableId: table.id, destinationCidrBlock: '0.0.0.0/0', natGatewayId: nat.id });
      }
      return table;
    });

    if (natMode === 'none') this.addEndpoints(props, privateRouteTables);
  }

  /** Private access to the AWS APIs the instances call, for VPCs without NAT. */
  private addEndpoints(props: NetworkProps, privateRouteTables: RouteTable[]): void {
    const endpointSg = new SecurityGroup(this, 'endpoints-sg', {
      name: `${props.namePrefix}-endpoints`,
      description: 'HTTPS from inside the VPC to the AWS API endpoints',
      vpcId: this.vpc.id,
    });
    new VpcSecurityGroupIngressRule(this, 'endpoints-https', {
      securityGroupId: endpointSg.id,
      description: 'HTTPS from the VPC',
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidrIpv4: props.cidr,
    });
    for (const service of INTERFACE_ENDPOINT_SERVICES) {
      new VpcEndpoint(this, `endpoint-${service}`, {
        vpcId: this.vpc.id,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds: this.privateSubnets.map((s) => s.id),
        securityGroupIds: [endpointSg.id],
      });
    }
    // Free gateway endpoint: S3 (the Amazon Linux package repositories live there).
    new VpcEndpoint(this, 'endpoint-s3', {
      vpcId: this.vpc.id,
      serviceName: `com.amazonaws.${props.region}.s3`,
      vpcEndpointType: 'Gateway',
      routeTableIds: privateRouteTables.map((t) => t.id),
    });
  }
}
