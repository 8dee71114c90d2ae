// ElastiCache replication group (Valkey or Redis 7+) that carries the chat
// fan-out, history and presence. TLS in transit with an AUTH token that the
// random provider generates and Secrets Manager keeps; encrypted at rest.
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

export const CACHE_PORT = 6379;

export interface CacheProps extends CacheConfig {
  readonly namePrefix: string;
  readonly subnetIds: string[];
  readonly securityGroupId: string;
  readonly kmsKeyArn: string;
  /** Protected environment: Terraform refuses any plan that deletes the replication group. */
  readonly protect: boolean;
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
    const parameters = new ElasticacheParameterGroup(this, 'parameters', {
      name: `${props.namePrefix}-${props.engine}${major}`,
      family: `${props.engine}${major}`,
      description: `Chat settings for ${props.engine} ${major}`,
      // History lists are a bounded cache: under memory pressure dropping the least
      // recently used rooms beats refusing writes (which would stop live delivery).
      parameter: [{ name: 'maxmemory-policy', value: 'allkeys-lru' }],
    });

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
      // A destroy (or replacement) keeps the data as a snapshot; protected environments refuse it outright.
      finalSnapshotIdentifier: `${props.namePrefix}-final`,
      lifecycle: { preventDestroy: props.protect },
    });
  }
}
