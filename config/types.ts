// Shape of one deployment environment. Everything a stack needs that differs
// between environments lives here; service-level constants (port, ping
// interval, drain time, health paths) come from service/src/defaults.ts.

/** How private subnets reach the internet (package repos, SSM, Secrets Manager, CloudWatch). */
export type NatMode =
  /** No NAT gateway: instances have no outbound internet (needs VPC endpoints; cheapest). */
  | 'none'
  /** One NAT gateway shared by every AZ: losing its AZ cuts outbound traffic of the others. */
  | 'single'
  /** One NAT gateway per AZ: no cross-AZ dependency, highest cost. */
  | 'per-az';

export type CacheEngine = 'valkey' | 'redis';

export interface NetworkConfig {
  /** IPv4 CIDR of the VPC, a /16 to /24. */
  readonly cidr: string;
  /**
   * Availability zones to spread subnets over (2 to 6), named explicitly so the
   * set never grows by itself when AWS opens a new zone in the region.
   */
  readonly availabilityZones: readonly string[];
  readonly natMode: NatMode;
  /** Keep VPC flow logs (rejected traffic) in CloudWatch Logs. */
  readonly flowLogs: boolean;
}

export interface DnsConfig {
  /** Name of an existing public Route53 hosted zone, e.g. "example.com". */
  readonly hostedZoneName: string;
  /** Fully qualified name users connect to; must lie inside the hosted zone. */
  readonly domainName: string;
}

export interface AmiConfig {
  /** Service version the AMI was built from; used to look it up by its Version tag. */
  readonly version: string;
  /**
   * The AMI id, pinned: the plan a reviewer approved names this image, so an apply can
   * never pick up a newer one by itself (there is no "most recent" lookup).
   */
  readonly amiId: string;
}

// --- rollout/metrics (issue 15) ---
/**
 * Optional second scaling signal: open WebSocket connections per instance, as
 * the CloudWatch agent publishes them (name and namespace: stacks/metrics.ts).
 */
export interface ConnectionsScalingConfig {
  /** Average connections per instance the group keeps. */
  readonly targetValue: number;
}
// --- end rollout/metrics ---

export interface ComputeConfig {
  readonly instanceType: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity: number;
  readonly rootVolumeGiB: number;
  /** Average CPU the target tracking policy keeps. */
  readonly cpuTargetPercent: number;
  readonly connectionsScaling: ConnectionsScalingConfig | null;
  /** Seconds after launch before failed ELB health checks replace an instance. */
  readonly healthCheckGraceSeconds: number;
  // --- rollout (issue 15) ---
  /**
   * Capacity a replacement may reach, in % of desired (110 to 200): new instances
   * launch before old ones terminate (min healthy is always 100 %), so this is
   * how many are replaced at once.
   */
  readonly instanceRefreshMaxHealthyPercent: number;
  // --- end rollout ---
  /** Extra service environment variables (HISTORY_LIMIT, ...); ALLOWED_ORIGINS comes from dns.domainName. */
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
}

export interface LoadBalancerConfig {
  /** Seconds an idle connection stays open; must exceed the service's ping interval. */
  readonly idleTimeoutSeconds: number;
  /** Cookie stickiness on the target group. Off by default: see docs/deploy.md. */
  readonly stickiness: boolean;
  /** Blocks deletion of the ALB; leave off where `npm run destroy` must work in one step. */
  readonly deletionProtection: boolean;
}

export interface CacheConfig {
  readonly engine: CacheEngine;
  /** Major.minor engine version, e.g. "8.0" for Valkey or "7.1" for Redis. */
  readonly engineVersion: string;
  readonly nodeType: string;
  /** Read replicas next to the primary; 1 or more turns on automatic failover and Multi-AZ. */
  readonly replicas: number;
  readonly snapshotRetentionDays: number;
  /** "ddd:hh24:mi-ddd:hh24:mi" in UTC. */
  readonly maintenanceWindow: string;
  /** "hh24:mi-hh24:mi" in UTC; must not overlap the maintenance window. */
  readonly snapshotWindow: string;
  /** Optional: ElastiCache cluster mode. Left out or null: one primary. */
  readonly clusterMode?: CacheClusterModeConfig | null;
}

/**
 * ElastiCache cluster mode: the keyspace split over node groups (shards), each
 * a primary with `replicas` replicas, so writes and sharded pub/sub spread over
 * several primaries. The service runs with REDIS_MODE=cluster against the
 * configuration endpoint (docs/deploy.md, "Cluster mode").
 */
export interface CacheClusterModeConfig {
  /** Node groups (shards), 1 to 500; `replicas` is then the replicas of each node group. */
  readonly nodeGroups: number;
}

// --- observability (issue 15) ---
/** One subscriber of the alarm topic. */
export interface AlarmSubscription {
  readonly protocol: 'email' | 'https' | 'sms' | 'sqs' | 'lambda';
  /** Address, URL, phone number or ARN, as the protocol wants. */
  readonly endpoint: string;
}

export interface ObservabilityConfig {
  /** CloudWatch log groups, and days the ALB access and connection logs are kept. */
  readonly logRetentionDays: number;
  /** Who the alarm topic notifies. At least one is required for a prod* environment. */
  readonly alarmSubscriptions: readonly AlarmSubscription[];
}
// --- end observability ---

/**
 * AWS WAF web ACL on the load balancer. Every field is optional; leaving out `waf`
 * altogether keeps it on with the defaults of stacks/waf.ts.
 */
export interface WafConfig {
  /** Default true. Off removes the web ACL, its association and its log group. */
  readonly enabled?: boolean;
  /**
   * Requests one client IP may send per 5 minutes before WAF blocks it (with 429)
   * until its rate falls back under the limit; 10 to 2,000,000,000, default 2000.
   * A WebSocket (re)connect is one request, so this caps reconnect loops.
   */
  readonly rateLimitPer5Minutes?: number;
  /** AWS managed rule groups: `block` matches (default) or only `count` them. */
  readonly managedRules?: 'block' | 'count';
}

/**
 * Connection tokens (the service runs AUTH_MODE=jwt) and the publish API.
 * See docs/deploy.md, "Identity".
 */
export interface IdentityConfig {
  /** `iss` and `aud` every token must carry. */
  readonly issuer: string;
  readonly audience: string;
  /** The identity provider's JWKS (asymmetric keys). Left out: an HS256 secret in Secrets Manager (value put by npm run secrets). */
  readonly jwksUrl?: string;
  /** Turns the publish API on, its key in Secrets Manager (value put by npm run secrets); the ALB passes /api/ only from these ranges. */
  readonly publishApi?: { readonly allowedCidrs: readonly string[] };
}

// --- Delivery (state, protection) -------------------------------------------------

export type StateConfig =
  /**
   * Local state file: only for a throwaway sandbox, said explicitly. State on a CI
   * runner is gone when the job ends, so a shared environment must not use it.
   */
  | { readonly backend: 'local'; readonly sandbox: true }
  | {
      readonly backend: 's3';
      /** The state bucket of the foundation stack (config/foundation.ts). */
      readonly bucket: string;
      /** One key per environment, e.g. chat-dev/terraform.tfstate. */
      readonly key: string;
      readonly region: string;
      /** Lock with a DynamoDB table instead of the S3 lock file (Terraform/OpenTofu >= 1.10). */
      readonly dynamodbTable?: string;
    };

export interface EnvironmentConfig {
  /** Short lowercase name; the stack is called `chat-<name>`. */
  readonly name: string;
  readonly region: string;
  readonly dns: DnsConfig;
  readonly network: NetworkConfig;
  readonly ami: AmiConfig;
  readonly compute: ComputeConfig;
  readonly loadBalancer: LoadBalancerConfig;
  readonly cache: CacheConfig;
  readonly observability: ObservabilityConfig;
  /** Optional: WAF is on with its defaults when left out. */
  readonly waf?: WafConfig;
  readonly identity: IdentityConfig;
  readonly state: StateConfig;
  /**
   * A protected environment keeps its data: the cache and KMS key carry prevent_destroy,
   * the load balancer needs deletion protection, the deploy workflow requires reviewers
   * on its GitHub environment and `npm run destroy` needs --confirm-destroy=<name>.
   */
  readonly protect: boolean;
  /** Tags on every resource, next to Project and Environment. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface FoundationConfig {
  readonly region: string;
  /** S3 bucket holding the Terraform state of every stack (versioned, KMS, TLS only). */
  readonly stateBucket: string;
  /** owner/name on GitHub: the OIDC roles trust only this repository's environments. */
  readonly githubRepository: string;
}
