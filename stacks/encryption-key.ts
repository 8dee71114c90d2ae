// One customer-managed KMS key per environment for the data at rest that
// matters: the cache, its auth secret and the CloudWatch log groups.
import { Construct } from './cdktf.js';
import { DataAwsCallerIdentity, DataAwsIamPolicyDocument, DataAwsPartition, KmsAlias, KmsKey } from './providers.js';

export interface EncryptionKeyProps {
  readonly namePrefix: string;
  readonly region: string;
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

    const policy = new DataAwsIamPolicyDocument(this, 'policy', {
      statement: [
        {
          // Standard key policy root statement: IAM policies of the account decide who may use the key.
          sid: 'AccountAdministers',
          principals: [{ type: 'AWS', identifiers: [`arn:${partition.partition}:iam::${account.accountId}:root`] }],
          actions: ['kms:*'],
          resources: ['*'],
        },
        {
          // CloudWatch Logs encrypts on the service side; only for this account's log groups in this region.
          sid: 'CloudWatchLogsEncrypts',
          principals: [{ type: 'Service', identifiers: [`logs.${props.region}.amazonaws.com`] }],
          actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          resources: ['*'],
          condition: [
            {
              test: 'ArnLike',
              variable: 'kms:EncryptionContext:aws:logs:arn',
              values: [`arn:${partition.partition}:logs:${props.region}:${account.accountId}:log-group:*`],
            },
          ],
        },
      ],
    });

    this.key = new KmsKey(this, 'key', {
      description: `${props.namePrefix}: cache, cache auth secret and logs`,
      enableKeyRotation: true,
      deletionWindowInDays: 7,
      policy: policy.json,
    });
    new KmsAlias(this, 'alias', { name: `alias/${props.namePrefix}`, targetKeyId: this.key.keyId });
  }
}
