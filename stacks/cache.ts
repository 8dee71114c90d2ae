// ElastiCache replication group (Valkey or Redis 7+) that carries the chat
// fan-out, history and presence. TLS in transit with an AUTH token that the
// random provider generates and Secrets Manager keeps; encrypted at rest;
// slow log and engine log delivered to encrypted CloudWatch log groups.
import { createHash } from 'node:crypto';
import { Construct } from './cdktf.js';
import {
  ElasticacheParameterGroup,
  ElasticacheReplicationGroup,
  ElasticacheSubnetGroup,
  Password,
  SecretsmanagerSecret,
  SecretsmanagerSecretVersion,
} from './providers.js';
import type { CacheConfig } from '../config/types.js';
import { EncryptedLogGroup } from './observability.js';

export const CACHE_PORT = 6379;

/**
 * Only keys with a TTL are evicted, least recently used first. Every key the
 * service writes expires (history refreshed on append with HISTORY_TTL, presence,
 * room epochs); a key without one is never dropped behind the service's back.
 */
export const MAXMEMORY_POLICY = 'volatile-lru';

/** The engine logs ElastiCache delivers, each to its own log group. */
export const CACHE_LOG_TYPES = ['slow-log', 'engine-log'] as const;

export interface CacheProps extends CacheConfig {
  readonly namePrefix: string;
  readonly subnetIds: string[];
  readonly securityGroupId: string;
  readonly kmsKeyArn: string;
  readonly logRetentionDays: number;
}

/** Node ids ElastiCache gives the members of a replication group: <group>-001, <group>-002, ... */
export function cacheNodeIds(groupId: string, replicas: number): string[] {
  return Array.from({ length: replicas + 1 }, (_, i) => `${groupId}-${String(i + 1).padStart(3, '0')}`);
}

export class Cache extends Construct {
  readonly group: ElasticacheReplicationGroup;
  readonly authSecret: SecretsmanagerSecret;
  readonly groupId: string;
  readonly nodeIds: string[];

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    this.groupId = props.namePrefix;
    this.nodeIds = cacheNodeIds(this.groupId, props.replicas);

    // Letters and digits only: the token goes into a rediss:// URL without encoding,
    // and ElastiCache refuses some punctuation in AUTH tokens.
    const authToken = new Password(this, 'auth-token', { length: 64, special: false, upper: true, lower: true, numeric: true });
    this.authSecret = new SecretsmanagerSecret(this, 'auth-secret', {
      namePrefix: `${props.namePrefix}/cache-auth-token-`,
      description: `AUTH token of the ${props.namePrefix} cache; read by the service instances at boot`,
      kmsKeyId: props.kmsKeyArn,
      recoveryWindowInDays: 7,
    });
    new SecretsmanagerSecretVersion(this, 'auth-secret-value', {
      secretId: this.authSecret.id,
      secretString: authToken.result,
    });

    const subnets = new ElasticacheSubnetGroup(this, 'subnets', {
      name: `${props.namePrefix}-cache`,
      description: `Private subnets of ${props.namePrefix}`,
      subnetIds: props.subnetIds,
    });
    const major = props.engineVersion.split('.')[0];
    const family = `${props.engine}${major}`;
    const settings = [{ name: 'maxmemory-policy', value: MAXMEMORY_POLICY }];
    // The name carries a hash of family and settings, and the new group is
    // created before the old one goes: a major upgrade (new family) or a changed
    // setting switches the cluster to a fresh group instead of modifying or
    // deleting the one in use (InvalidCacheParameterGroupState).
    const parameters = new ElasticacheParameterGroup(this, 'parameters', {
      name: `${props.namePrefix}-${family}-${createHash('sha256').update(JSON.stringify({ family, settings })).digest('hex').slice(0, 8)}`,
      family,
      description: `Chat settings for ${props.engine} ${major}`,
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
    this.group = new ElasticacheReplicationGroup(this, 'group', {
      replicationGroupId: this.groupId,
      description: `Chat fan-out, history and presence for ${props.namePrefix}`,
      engine: props.engine,
      engineVersion: props.engineVersion,
      nodeType: props.nodeType,
      port: CACHE_PORT,
      numCacheClusters: props.replicas + 1,
      automaticFailoverEnabled: highlyAvailable,
      multiAzEnabled: highlyAvailable,
      subnetGroupName: subnets.name,
      securityGroupIds: [props.securityGroupId],
      parameterGroupName: parameters.name,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      authToken: authToken.result,
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
    });
  }
}
