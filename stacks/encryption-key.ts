// One customer-managed KMS key per environment for the data at rest that
// matters: the cache, its auth secret, the CloudWatch log groups and the alarm topic.
import { Construct, Fn } from './cdktf.js';
import { DataAwsCallerIdentity, DataAwsPartition, KmsAlias, KmsKey } from './providers.js';

export interface EncryptionKeyProps {
  readonly namePrefix: string;
  readonly region: string;
  /** Protected environment: Terraform refuses any plan that deletes the key. */
  readonly protect: boolean;
}

export class EncryptionKey extends Construct {
  readonly key: KmsKey;
  readonly accountId: string;
  readonly partition: string;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    const account = new DataAwsCallerIdentity(this, 'account');
    const partition = new DataAwsPartition(this, 'partition');
    this.accountId = account.accountId;
    this.partition = partition.partition;

    // A key policy, not an IAM policy: "Resource": "*" means this key. Written as plain
    // JSON because the IAM policy-document data source would present it as an identity policy.
    const accountRoot = `arn:${partition.partition}:iam::${account.accountId}:root`;
    const policy = Fn.jsonencode({
      Version: '2012-10-17',
      Statement: [
        {
          // Standard root statement: IAM policies of the account decide who may use the key.
          Sid: 'AccountAdministers',
          Effect: 'Allow',
          Principal: { AWS: accountRoot },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          // CloudWatch Logs encrypts on the service side; only for this account's log groups in this region.
          Sid: 'CloudWatchLogsEncrypts',
          Effect: 'Allow',
          Principal: { Service: `logs.${props.region}.amazonaws.com` },
          Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          Resource: '*',
          Condition: {
            ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition.partition}:logs:${props.region}:${account.accountId}:log-group:*` },
          },
        },
        {
          // Alarms publish to the encrypted alarm topic (stacks/observability.ts).
          Sid: 'CloudWatchAlarmsPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:SourceAccount': account.accountId } },
        },
      ],
    });

    this.key = new KmsKey(this, 'key', {
      description: `${props.namePrefix}: cache, cache auth secret and logs`,
      enableKeyRotation: true,
      deletionWindowInDays: 7,
      policy,
      lifecycle: { preventDestroy: props.protect },
    });
    new KmsAlias(this, 'alias', { name: `alias/${props.namePrefix}`, targetKeyId: this.key.keyId });
  }
}
