// The deployment environments. Edit the values here (hosted zone and domain
// first); they are validated before synth, see config/validate.ts.
import { readFileSync } from 'node:fs';
import { remoteState } from './foundation.js';
import type { AmiConfig, EnvironmentConfig } from './types.js';

/** Written by the AMI release workflow: the service version and the pinned AMI id. */
export function readAmiConfig(file = new URL('./ami.json', import.meta.url)): AmiConfig {
  return JSON.parse(readFileSync(file, 'utf8')) as AmiConfig;
}

const ami = readAmiConfig();

const dev: EnvironmentConfig = {
  name: 'dev',
  region: 'eu-west-1',
  dns: { hostedZoneName: 'example.com', domainName: 'chat-dev.example.com' },
  network: { cidr: '10.20.0.0/16', availabilityZones: ['eu-west-1a', 'eu-west-1b'], natMode: 'single', flowLogs: true },
  ami,
  compute: {
    instanceType: 't3.small',
    minSize: 2,
    maxSize: 4,
    desiredCapacity: 2,
    rootVolumeGiB: 16,
    cpuTargetPercent: 60,
    // metrics (issue 15): tracks chat_connections as the CloudWatch agent publishes it.
    connectionsScaling: { targetValue: 5000 },
    healthCheckGraceSeconds: 120,
    // rollout (issue 15): replace the whole dev fleet at once, launch before terminate.
    instanceRefreshMaxHealthyPercent: 200,
    // Behind the ALB every client is told apart by X-Forwarded-For (TRUSTED_PROXIES is the VPC):
    // an office NAT may hold many users, so the cap is generous.
    serviceEnv: { MAX_CONNECTIONS_PER_ADDRESS: '1000' },
    logLevel: 'info',
  },
  loadBalancer: { idleTimeoutSeconds: 120, stickiness: false, deletionProtection: false },
  cache: {
    engine: 'valkey',
    engineVersion: '8.0',
    nodeType: 'cache.t4g.micro',
    replicas: 1,
    snapshotRetentionDays: 1,
    maintenanceWindow: 'sun:04:00-sun:05:00',
    snapshotWindow: '02:00-03:00',
  },
  // observability (issue 15): dev alarms stay in the console unless someone subscribes.
  observability: { logRetentionDays: 30, alarmSubscriptions: [] },
  // Per client IP: a browser session stays far below 2000 requests in 5 minutes; a reconnect loop does not.
  waf: { enabled: true, rateLimitPer5Minutes: 2000, managedRules: 'block' },
  // HS256 with a generated secret; set jwksUrl to verify an identity provider's keys instead.
  // The publish API is on, and reachable through the load balancer from nowhere until ranges are listed.
  identity: { issuer: 'https://chat-dev.example.com', audience: 'chat', publishApi: { allowedCidrs: [] } },
  // Delivery: remote state, one key per environment; dev may be destroyed without confirmation.
  state: remoteState('dev'),
  protect: false,
  tags: {},
};

const prod: EnvironmentConfig = {
  ...dev,
  name: 'prod',
  dns: { hostedZoneName: 'example.com', domainName: 'chat.example.com' },
  network: {
    cidr: '10.30.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    natMode: 'per-az',
    flowLogs: true,
  },
  compute: {
    ...dev.compute,
    instanceType: 't3.medium',
    minSize: 3,
    maxSize: 12,
    desiredCapacity: 3,
    // rollout (issue 15): one extra instance per two while a new AMI rolls out.
    instanceRefreshMaxHealthyPercent: 150,
  },
  cache: { ...dev.cache, nodeType: 'cache.t4g.small', replicas: 2, snapshotRetentionDays: 7 },
  // observability (issue 15): prod alarms must reach someone (validate.ts refuses none).
  observability: { logRetentionDays: 90, alarmSubscriptions: [{ protocol: 'email', endpoint: 'chat-oncall@example.com' }] },
  identity: { ...dev.identity, issuer: 'https://chat.example.com' },
  // Delivery: prod keeps its data (prevent_destroy, ALB deletion protection, reviewers).
  loadBalancer: { ...dev.loadBalancer, deletionProtection: true },
  state: remoteState('prod'),
  protect: true,
};

/** Keyed by environment name; each becomes the stack `chat-<name>`. */
export const environments: Readonly<Record<string, EnvironmentConfig>> = { dev, prod };
