// Checks an environment before any construct is created, so that a missing or
// bad value fails synth with a message naming it (e.g. "dev.cache.replicas")
// instead of surfacing as a Terraform error at deploy time.
import { PING_INTERVAL_MS } from '../service/src/defaults.js';
import type { EnvironmentConfig } from './types.js';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid environment configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Node = Record<string, unknown>;

/** Collects every problem of one environment, each prefixed with the path of the value. */
class Checker {
  readonly problems: string[] = [];

  fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  object(parent: Node, key: string, path: string): Node {
    const value = parent[key];
    if (value === undefined || value === null) this.fail(`${path}.${key}`, 'is missing');
    else if (typeof value !== 'object' || Array.isArray(value)) this.fail(`${path}.${key}`, 'must be an object');
    else return value as Node;
    return {};
  }

  string(parent: Node, key: string, path: string, pattern?: RegExp, hint?: string): string | undefined {
    const value = parent[key];
    const at = `${path}.${key}`;
    if (value === undefined || value === null || value === '') {
      this.fail(at, 'is missing');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.fail(at, `must be a string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    if (pattern && !pattern.test(value)) {
      this.fail(at, `${hint ?? `must match ${pattern}`}, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  integer(parent: Node, key: string, path: string, min: number, max: number): number | undefined {
    const value = parent[key];
    const at = `${path}.${key}`;
    if (value === undefined || value === null) {
      this.fail(at, 'is missing');
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(at, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  boolean(parent: Node, key: string, path: string): boolean | undefined {
    const value = parent[key];
    if (typeof value === 'boolean') return value;
    this.fail(`${path}.${key}`, value === undefined ? 'is missing' : `must be true or false, got ${JSON.stringify(value)}`);
    return undefined;
  }

  oneOf<T extends string>(parent: Node, key: string, path: string, allowed: readonly T[]): T | undefined {
    const value = parent[key];
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.fail(
      `${path}.${key}`,
      value === undefined ? `is missing (one of ${allowed.join(', ')})` : `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
    );
    return undefined;
  }

  stringMap(parent: Node, key: string, path: string, keyPattern: RegExp): Record<string, string> {
    const map = this.object(parent, key, path);
    for (const [name, value] of Object.entries(map)) {
      if (!keyPattern.test(name)) this.fail(`${path}.${key}.${name}`, `name must match ${keyPattern}`);
      // Values end up in a systemd EnvironmentFile and in tags: one line, no quotes to escape.
      if (typeof value !== 'string' || /[\n\r"'\\$`]/.test(value)) {
        this.fail(`${path}.${key}.${name}`, 'must be a one-line string without quotes, backslashes, $ or backticks');
      }
    }
    return map as Record<string, string>;
  }
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const MAINTENANCE_WINDOW = /^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d$/;
const SNAPSHOT_WINDOW = /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/;
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;
/** Set by the user data itself; config must not override them. */
const RESERVED_SERVICE_ENV = [
  'REDIS_URL', 'REDIS_MODE', 'INSTANCE_ID', 'PORT', 'WORKERS', 'LOG_LEVEL', /* issue 15: */ 'ALLOWED_ORIGINS', 'DRAIN_SECONDS', 'HISTORY_TTL', 'TRUSTED_PROXIES',
  /* delivery, IAM auth to the cache: */ 'REDIS_AUTH', 'REDIS_IAM_USER', 'REDIS_IAM_CACHE', 'AWS_REGION',
  // Identity comes from the `identity` section; the development token endpoint is never deployed.
  'AUTH_MODE', 'AUTH_JWT_SECRET', 'AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_DEV_TOKENS', 'PUBLISH_API_KEY',
];
/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
/** Range AWS (and the provider's schema) accept for the limit of a rate-based WAF rule. */
export const WAF_RATE_LIMIT = { min: 10, max: 2_000_000_000 } as const;
const WAF_SETTINGS = ['enabled', 'rateLimitPer5Minutes', 'managedRules'];
/** Oldest engine versions with the features the service relies on (IAM authentication of RBAC users over TLS, Redis 7 commands). */
const MIN_ENGINE_VERSION = { redis: 7, valkey: 7.2 } as const;

function checkCidr(c: Checker, at: string, cidr: string | undefined): void {
  if (cidr === undefined) return;
  const match = CIDR.exec(cidr);
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const prefix = match ? Number(match[5]) : -1;
  if (!match || octets.some((o) => o > 255) || prefix < 16 || prefix > 24) {
    c.fail(at, `must be an IPv4 CIDR with a prefix from /16 to /24, got ${JSON.stringify(cidr)}`);
  }
}

function checkEngineVersion(c: Checker, at: string, engine: 'valkey' | 'redis' | undefined, version: string | undefined): void {
  if (engine === undefined || version === undefined) return;
  if (Number(version) < MIN_ENGINE_VERSION[engine]) {
    c.fail(at, `${engine} ${version} is too old; use ${MIN_ENGINE_VERSION[engine]} or newer`);
  }
}

/** ElastiCache's limit on the nodes of one cluster-mode replication group (node groups × (1 + replicas)). */
const MAX_CLUSTER_NODES = 500;

/** Optional cache.clusterMode: left out or null is one primary. */
function checkClusterMode(c: Checker, cache: Node, at: string): void {
  if (cache.clusterMode === undefined || cache.clusterMode === null) return;
  const mode = c.object(cache, 'clusterMode', at);
  const groups = c.integer(mode, 'nodeGroups', `${at}.clusterMode`, 1, MAX_CLUSTER_NODES);
  const replicas = cache.replicas;
  if (groups !== undefined && typeof replicas === 'number' && groups * (1 + replicas) > MAX_CLUSTER_NODES) {
    c.fail(`${at}.clusterMode.nodeGroups`, `× (1 + replicas) must be at most ${MAX_CLUSTER_NODES} nodes, got ${groups * (1 + replicas)}`);
  }
  for (const key of Object.keys(mode)) if (key !== 'nodeGroups') c.fail(`${at}.clusterMode.${key}`, 'is not a setting (nodeGroups; replicas per node group is cache.replicas)');
}

/**
 * Validates one environment and returns it typed. `raw` is `unknown` on purpose:
 * values may come from hand-edited files or casts that the compiler cannot vouch for.
 */
export function validateEnvironment(raw: unknown, label: string): EnvironmentConfig {
  const c = new Checker();
  if (raw === null || typeof raw !== 'object') throw new ConfigError([`${label}: must be an object`]);
  const env = raw as Node;

  c.string(env, 'name', label, /^[a-z][a-z0-9-]{1,15}$/, 'must be 2-16 lowercase letters, digits or dashes');
  c.string(env, 'region', label, REGION, 'must be an AWS region such as eu-west-1');

  const dns = c.object(env, 'dns', label);
  const zone = c.string(dns, 'hostedZoneName', `${label}.dns`, DNS_NAME, 'must be a lowercase DNS name');
  const domain = c.string(dns, 'domainName', `${label}.dns`, DNS_NAME, 'must be a lowercase DNS name');
  if (zone && domain && domain !== zone && !domain.endsWith(`.${zone}`)) {
    c.fail(`${label}.dns.domainName`, `must lie inside the hosted zone ${zone}, got ${domain}`);
  }

  const network = c.object(env, 'network', label);
  // At most 6 AZs: stacks/network.ts cuts the VPC into 16 slices, 8 public and 8 private.
  const zones = network.availabilityZones;
  const region = typeof env.region === 'string' ? env.region : '';
  if (!Array.isArray(zones) || zones.length < 2 || zones.length > 6 || new Set(zones).size !== zones.length) {
    c.fail(`${label}.network.availabilityZones`, `must list 2 to 6 distinct zones, got ${JSON.stringify(zones)}`);
  } else {
    for (const zone of zones) {
      if (typeof zone !== 'string' || !new RegExp(`^${region}[a-z]$`).test(zone)) {
        c.fail(`${label}.network.availabilityZones`, `${JSON.stringify(zone)} is not a zone of region ${region}`);
      }
    }
  }
  checkCidr(c, `${label}.network.cidr`, c.string(network, 'cidr', `${label}.network`));
  c.oneOf(network, 'natMode', `${label}.network`, ['none', 'single', 'per-az'] as const);
  c.boolean(network, 'flowLogs', `${label}.network`);

  const ami = c.object(env, 'ami', label);
  c.string(ami, 'version', `${label}.ami`, SEMVER, 'must be a semantic version such as 0.1.0');
  c.string(ami, 'amiId', `${label}.ami`, AMI_ID, 'must be a pinned AMI id such as ami-0123456789abcdef0 (no newest-AMI lookup at apply time)');

  const compute = c.object(env, 'compute', label);
  const at = `${label}.compute`;
  c.string(compute, 'instanceType', at, /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'must be an EC2 instance type such as t4g.small');
  const min = c.integer(compute, 'minSize', at, 1, 100);
  const max = c.integer(compute, 'maxSize', at, 1, 100);
  const desired = c.integer(compute, 'desiredCapacity', at, 1, 100);
  if (min !== undefined && max !== undefined && desired !== undefined && !(min <= desired && desired <= max)) {
    c.fail(`${at}.desiredCapacity`, `must lie between minSize (${min}) and maxSize (${max}), got ${desired}`);
  }
  c.integer(compute, 'rootVolumeGiB', at, 8, 1024);
  c.integer(compute, 'cpuTargetPercent', at, 10, 90);
  c.integer(compute, 'healthCheckGraceSeconds', at, 30, 3600);
  c.integer(compute, 'instanceRefreshMaxHealthyPercent', at, 110, 200); // issue 15
  c.oneOf(compute, 'logLevel', at, ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const);
  const serviceEnv = c.stringMap(compute, 'serviceEnv', at, ENV_NAME);
  for (const reserved of RESERVED_SERVICE_ENV) {
    if (reserved in serviceEnv) c.fail(`${at}.serviceEnv.${reserved}`, 'is set by the stack itself and cannot be overridden');
  }
  if (compute.connectionsScaling !== null) {
    const scaling = c.object(compute, 'connectionsScaling', at);
    c.integer(scaling, 'targetValue', `${at}.connectionsScaling`, 1, 1_000_000);
  }

  const lb = c.object(env, 'loadBalancer', label);
  const pingSeconds = Math.ceil(PING_INTERVAL_MS / 1000);
  const idle = c.integer(lb, 'idleTimeoutSeconds', `${label}.loadBalancer`, 1, 4000);
  if (idle !== undefined && idle <= pingSeconds) {
    c.fail(`${label}.loadBalancer.idleTimeoutSeconds`, `must exceed the service's ping interval (${pingSeconds} s), got ${idle}`);
  }
  c.boolean(lb, 'stickiness', `${label}.loadBalancer`);
  c.boolean(lb, 'deletionProtection', `${label}.loadBalancer`);

  const cache = c.object(env, 'cache', label);
  const engine = c.oneOf(cache, 'engine', `${label}.cache`, ['valkey', 'redis'] as const);
  const version = c.string(cache, 'engineVersion', `${label}.cache`, /^\d+\.\d+$/, 'must be major.minor such as 8.0');
  checkEngineVersion(c, `${label}.cache.engineVersion`, engine, version);
  c.string(cache, 'nodeType', `${label}.cache`, /^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a node type such as cache.t4g.micro');
  c.integer(cache, 'replicas', `${label}.cache`, 0, 5);
  c.integer(cache, 'snapshotRetentionDays', `${label}.cache`, 1, 35);
  c.string(cache, 'maintenanceWindow', `${label}.cache`, MAINTENANCE_WINDOW, 'must look like sun:04:00-sun:05:00');
  c.string(cache, 'snapshotWindow', `${label}.cache`, SNAPSHOT_WINDOW, 'must look like 02:00-03:00');
  checkClusterMode(c, cache, `${label}.cache`);

  const obs = c.object(env, 'observability', label);
  const retention = c.integer(obs, 'logRetentionDays', `${label}.observability`, 1, 3653);
  if (retention !== undefined && !LOG_RETENTION_DAYS.includes(retention)) {
    c.fail(`${label}.observability.logRetentionDays`, `must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${retention}`);
  }
  // --- observability (issue 15) ---
  const subscriptions = obs.alarmSubscriptions;
  if (!Array.isArray(subscriptions)) {
    c.fail(`${label}.observability.alarmSubscriptions`, 'must be a list of { protocol, endpoint }');
  } else {
    if (subscriptions.length === 0 && /^prod/.test(String(env.name))) {
      c.fail(`${label}.observability.alarmSubscriptions`, 'must name at least one subscriber in a production environment');
    }
    subscriptions.forEach((subscription: Record<string, unknown>, index: number) => {
      const subAt = `${label}.observability.alarmSubscriptions[${index}]`;
      c.oneOf(subscription, 'protocol', subAt, ['email', 'https', 'sms', 'sqs', 'lambda'] as const);
      c.string(subscription, 'endpoint', subAt, /^\S{3,2048}$/, 'must be an address, URL, number or ARN');
    });
  }
  // --- end observability ---

  // Optional section: a setting left out takes its default, so a misspelt one is an error
  // rather than a silent fallback.
  if (env.waf !== undefined) {
    const waf = c.object(env, 'waf', label);
    const wafAt = `${label}.waf`;
    for (const key of Object.keys(waf)) {
      if (!WAF_SETTINGS.includes(key)) c.fail(`${wafAt}.${key}`, `is not a WAF setting (${WAF_SETTINGS.join(', ')})`);
    }
    if (waf.enabled !== undefined) c.boolean(waf, 'enabled', wafAt);
    if (waf.rateLimitPer5Minutes !== undefined) c.integer(waf, 'rateLimitPer5Minutes', wafAt, WAF_RATE_LIMIT.min, WAF_RATE_LIMIT.max);
    if (waf.managedRules !== undefined) c.oneOf(waf, 'managedRules', wafAt, ['block', 'count'] as const);
  }

  const identity = c.object(env, 'identity', label);
  const identityAt = `${label}.identity`;
  // One line each, no shell metacharacters: they go into the instance's environment file.
  c.string(identity, 'issuer', identityAt, /^[\w.:/@-]{1,256}$/, 'must be the issuer (iss) of the tokens, such as https://auth.example.com');
  c.string(identity, 'audience', identityAt, /^[\w.:/@-]{1,256}$/, 'must be the audience (aud) of the tokens, such as chat');
  if (identity.jwksUrl !== undefined) {
    c.string(identity, 'jwksUrl', identityAt, /^https:\/\/[\w.-]+(:\d+)?(\/[\w./-]*)?$/, 'must be an https:// URL of a JSON Web Key Set');
  }
  if (identity.publishApi !== undefined) {
    const publishApi = c.object(identity, 'publishApi', identityAt);
    const cidrs = publishApi.allowedCidrs;
    if (!Array.isArray(cidrs) || !cidrs.every((cidr) => typeof cidr === 'string' && /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr))) {
      c.fail(`${identityAt}.publishApi.allowedCidrs`, 'must be a list of IPv4 CIDR ranges such as 10.0.0.0/8 (empty: refused at the load balancer)');
    }
  }

  // --- Delivery: remote state unless explicitly a sandbox; protection ---
  const state = c.object(env, 'state', label);
  const backend = c.oneOf(state, 'backend', `${label}.state`, ['local', 's3'] as const);
  if (backend === 'local' && state.sandbox !== true) {
    c.fail(`${label}.state.backend`, 'local state is lost with the CI runner that wrote it; use the S3 backend of the foundation stack, or set sandbox: true for a throwaway environment');
  }
  if (backend === 's3') {
    c.string(state, 'bucket', `${label}.state`, /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name');
    c.string(state, 'key', `${label}.state`, /^[\w./-]+\.tfstate$/, 'must be an object key ending in .tfstate');
    c.string(state, 'region', `${label}.state`, REGION, 'must be an AWS region such as eu-west-1');
    if (state.dynamodbTable !== undefined) c.string(state, 'dynamodbTable', `${label}.state`);
  }
  const protect = c.boolean(env, 'protect', label);
  if (protect && backend === 'local') c.fail(`${label}.protect`, 'a protected environment needs remote state');
  if (protect && lb.deletionProtection === false) c.fail(`${label}.loadBalancer.deletionProtection`, 'must be true in a protected environment');

  c.stringMap(env, 'tags', label, /^[A-Za-z][\w.:/=+@-]{0,127}$/);

  if (c.problems.length > 0) throw new ConfigError(c.problems);
  return raw as EnvironmentConfig;
}

/** Validates every environment, reporting the problems of all of them at once. */
export function validateEnvironments(raw: Readonly<Record<string, unknown>>): EnvironmentConfig[] {
  const problems: string[] = [];
  const valid: EnvironmentConfig[] = [];
  for (const [label, env] of Object.entries(raw)) {
    try {
      const checked = validateEnvironment(env, label);
      if (checked.name !== label) problems.push(`${label}.name: must equal its key "${label}", got ${JSON.stringify(checked.name)}`);
      valid.push(checked);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (Object.keys(raw).length === 0) problems.push('environments: at least one environment is required');
  // One state object per environment: two stacks writing one key would destroy each other's resources.
  const keys = new Map<string, string>();
  for (const env of valid) {
    if (env.state.backend !== 's3') continue;
    const where = `s3://${env.state.bucket}/${env.state.key}`;
    const other = keys.get(where);
    if (other) problems.push(`${env.name}.state.key: ${where} is already the state of ${other}`);
    keys.set(where, env.name);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return valid;
}
