// ElastiCache replication group (Valkey or Redis 7+) that carries the chat
// fan-out, history and presence. TLS in transit, encrypted at rest, and no
// password anywhere: the service authenticates as an RBAC user with IAM
// (a token its instance role signs, see service/src/bus/redisCredentials.ts),
// so neither the Terraform state nor the plan role can read a credential.
// Slow log and engine log delivered to encrypted CloudWatch log groups.
// With cache.clusterMode, the same group in cluster mode: node groups
// (shards) behind a configuration endpoint, and the service in REDIS_MODE=cluster.
import { createHash } from 'node:crypto';
import { Construct } from './cdktf.js';
import {
  ElasticacheParameterGroup,
  ElasticacheReplicationGroup,
  ElasticacheSubnetGroup,
  ElasticacheUser,
  ElasticacheUserGroup,
} from './providers.js';
import type { CacheConfig } from '../config/types.js';
import { EncryptedLogGroup } from './observability.js';

export const CACHE_PORT = 6379;
/**
 * What the service sends (service/src/bus, history, presence and their Lua
 * scripts, whose commands Redis checks against the same rules), and nothing
 * else. test/service/serviceAcl.test.ts runs instances as a user with exactly
 * these rules and fails on any refusal; a new command needs its rule here.
 */
export const SERVICE_COMMANDS = {
  /** ioredis on every connection: its name, the ready check, closing; the heartbeat reads Redis' clock. */
  connection: ['client|setname', 'info', 'time', 'quit'],
  /** The scripts: EVALSHA, EVAL when the script cache lost them (a restart, a failover). */
  scripts: ['evalsha', 'eval'],
  /** Fan-out: PUBLISH from the scripts, a subscription per room. */
  pubsub: ['publish', 'subscribe', 'unsubscribe'],
  /** Cluster mode: sharded fan-out, ioredis' ready check (CLUSTER INFO) and its slot map (CLUSTER SLOTS). */
  clusterMode: ['spublish', 'ssubscribe', 'sunsubscribe', 'cluster|info', 'cluster|slots'],
  /** History: the room stream, its meta hash (both expire with HISTORY_TTL) and the send dedupe key. */
  history: ['xadd', 'xlen', 'xrange', 'xrevrange', 'xtrim', 'hexists', 'hmget', 'hset', 'get', 'set', 'pexpire'],
  /** Presence: counts per instance, the users hash, the published total, the heartbeat set and each instance's rooms. */
  presence: ['hset', 'hdel', 'hvals', 'hkeys', 'get', 'set', 'del', 'zadd', 'zscore', 'zrangebyscore', 'zrem', 'sadd', 'srem', 'smembers'],
} as const;

/** Every key and channel the service names starts with `chat:` (service/src/bus/keys.ts). */
export const SERVICE_KEY_PATTERN = 'chat:*';

/** ACL rules of the service's RBAC user (ElastiCache access string syntax = Redis ACL rules). */
export const SERVICE_ACCESS_STRING = [
  'on',
  `~${SERVICE_KEY_PATTERN}`,
  `&${SERVICE_KEY_PATTERN}`,
  '-@all',
  ...[...new Set(Object.values(SERVICE_COMMANDS).flat())].map((command) => `+${command}`),
].join(' ');

/**
 * Only keys with a TTL are evicted, least recently used first. Every key the
 * service writes expires (history refreshed on append with HISTORY_TTL, presence,
 * room epochs); a key without one is never dropped behind the service's back.
 */
export const MAXMEMORY_POLICY = 'volatile-lru';

/** HISTORY_TTL of the deployed service: a room silent for a week loses its history (and starts a new epoch). */
export const HISTORY_TTL_SECONDS = 7 * 24 * 3600;

/** The engine logs ElastiCache delivers, each to its own log group. */
export const CACHE_LOG_TYPES = ['slow-log', 'engine-log'] as const;

export interface CacheProps extends CacheConfig {
  readonly namePrefix: string;
  readonly subnetIds: string[];
  readonly securityGroupId: string;
  readonly kmsKeyArn: string;
  readonly logRetentionDays: number;
  /** Protected environment: Terraform refuses any plan that deletes the replication group. */
  readonly protect: boolean;
}

/**
 * Node ids ElastiCache gives the members of a replication group:
 * <group>-001, <group>-002, ...; in cluster mode <group>-0001-001, per node group.
 */
export function cacheNodeIds(groupId: string, replicas: number, nodeGroups?: number): string[] {
  const nodes = (prefix: string) => Array.from({ length: replicas + 1 }, (_, i) => `${prefix}-${String(i + 1).padStart(3, '0')}`);
  if (nodeGroups === undefined) return nodes(groupId);
  return Array.from({ length: nodeGroups }, (_, g) => nodes(`${groupId}-${String(g + 1).padStart(4, '0')}`)).flat();
}

export class Cache extends Construct {
  readonly group: ElasticacheReplicationGroup;
  /** The RBAC user the service connects as (IAM authentication); its id is also its user name. */
  readonly serviceUser: ElasticacheUser;
  readonly groupId: string;
  readonly nodeIds: string[];
  /** Where the instances connect: the primary endpoint, or in cluster mode the configuration endpoint. */
  readonly endpoint: string;
  /** What the service must be told about the cache besides REDIS_URL (REDIS_MODE=cluster in cluster mode). */
  readonly serviceEnv: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    this.groupId = props.namePrefix;
    const clusterMode = props.clusterMode ?? undefined;
    this.nodeIds = cacheNodeIds(this.groupId, props.replicas, clusterMode?.nodeGroups);

    // IAM authentication needs the user id and user name to be equal.
    this.serviceUser = new ElasticacheUser(this, 'service-user', {
      userId: `${props.namePrefix}-service`,
      userName: `${props.namePrefix}-service`,
      engine: props.engine,
      accessString: SERVICE_ACCESS_STRING,
      authenticationMode: { type: 'iam' },
    });
    // Every user group must hold a user named "default"; this one can do nothing.
    const disabledDefault = new ElasticacheUser(this, 'default-user', {
      userId: `${props.namePrefix}-default`,
      userName: 'default',
      engine: props.engine,
      accessString: 'off -@all',
      authenticationMode: { type: 'no-password-required' },
    });
    const users = new ElasticacheUserGroup(this, 'users', {
      userGroupId: props.namePrefix,
      engine: props.engine,
      userIds: [disabledDefault.userId, this.serviceUser.userId],
    });

    const subnets = new ElasticacheSubnetGroup(this, 'subnets', {
      name: `${props.namePrefix}-cache`,
      description: `Private subnets of ${props.namePrefix}`,
      subnetIds: props.subnetIds,
    });
    const major = props.engineVersion.split('.')[0];
    const family = `${props.engine}${major}`;
    const settings = [
      { name: 'maxmemory-policy', value: MAXMEMORY_POLICY },
      // A cluster-mode group needs a parameter group with cluster mode on.
      ...(clusterMode ? [{ name: 'cluster-enabled', value: 'yes' }] : []),
    ];
    // The name carries a hash of family and settings, and the new group is
    // created before the old one goes: a major upgrade (new family) or a changed
    // setting switches the cluster to a fresh group instead of modifying or
    // deleting the one in use (InvalidCacheParameterGroupState).
    const parameters = new ElasticacheParameterGroup(this, 'parameters', {
      name: `${props.namePrefix}-${family}-${createHash('sha256').update(JSON.stringify({ family, settings })).digest('hex').slice(0, 8)}`,
      family,
      description: `Chat settings for ${props.engine} ${major}${clusterMode ? ', cluster mode' : ''}`,
      parameter: settings,
      lifecycle: { createBeforeDestroy: true },
    });

    const logs = CACHE_LOG_TYPES.map(
      (type) =>
        [
          type,
          new EncryptedLogGroup(this, type, {
            name: `/chat/${props.namePrefix}/cache/${type}`,
            retentionDays: props.logRetentionDays,
            kmsKeyArn: props.kmsKeyArn,
          }),
        ] as const,
    );

    const highlyAvailable = props.replicas >= 1;
    const topology = clusterMode
      ? {
          clusterMode: 'enabled',
          numNodeGroups: clusterMode.nodeGroups,
          replicasPerNodeGroup: props.replicas,
          // Required in cluster mode: a shard whose primary fails must fail over (or go down).
          automaticFailoverEnabled: true,
        }
      : { numCacheClusters: props.replicas + 1, automaticFailoverEnabled: highlyAvailable };
    this.group = new ElasticacheReplicationGroup(this, 'group', {
      replicationGroupId: this.groupId,
      description: `Chat fan-out, history and presence for ${props.namePrefix}`,
      engine: props.engine,
      engineVersion: props.engineVersion,
      nodeType: props.nodeType,
      port: CACHE_PORT,
      ...topology,
      multiAzEnabled: highlyAvailable,
      subnetGroupName: subnets.name,
      securityGroupIds: [props.securityGroupId],
      parameterGroupName: parameters.name,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      userGroupIds: [users.userGroupId],
      atRestEncryptionEnabled: 'true',
      kmsKeyId: props.kmsKeyArn,
      maintenanceWindow: props.maintenanceWindow,
      snapshotWindow: props.snapshotWindow,
      snapshotRetentionLimit: props.snapshotRetentionDays,
      autoMinorVersionUpgrade: 'true',
      applyImmediately: false,
      logDeliveryConfiguration: logs.map(([type, log]) => ({
        destinationType: 'cloudwatch-logs',
        destination: log.group.name,
        logFormat: 'json',
        logType: type,
      })),
      // A destroy (or replacement) keeps the data as a snapshot; protected environments refuse it outright.
      finalSnapshotIdentifier: `${props.namePrefix}-final`,
      lifecycle: { preventDestroy: props.protect },
    });
    this.endpoint = clusterMode ? this.group.configurationEndpointAddress : this.group.primaryEndpointAddress;
    this.serviceEnv = clusterMode ? { REDIS_MODE: 'cluster' } : {};
  }
}
