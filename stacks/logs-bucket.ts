// S3 bucket for the load balancer's access and connection logs: private,
// owner-enforced, TLS-only, encrypted, and emptied by a lifecycle rule.
// Encrypted with S3-managed keys because ELB log delivery supports no other.
import { Construct, Fn } from './cdktf.js';
import {
  DataAwsElbServiceAccount,
  S3Bucket,
  S3BucketLifecycleConfiguration,
  S3BucketOwnershipControls,
  S3BucketPolicy,
  S3BucketPublicAccessBlock,
  S3BucketServerSideEncryptionConfiguration,
  S3BucketVersioning,
} from './providers.js';

/** Key prefixes ELB writes under, one per log kind. */
export const ALB_LOG_PREFIXES = { access: 'access', connection: 'connection' } as const;

export interface LoadBalancerLogsBucketProps {
  readonly namePrefix: string;
  readonly accountId: string;
  readonly partition: string;
  /** Days a log object is kept. */
  readonly retentionDays: number;
}

export class LoadBalancerLogsBucket extends Construct {
  readonly bucket: S3Bucket;
  /** ELB checks its write access when the load balancer's attributes are set: depend on this. */
  readonly policy: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: LoadBalancerLogsBucketProps) {
    super(scope, id);
    this.bucket = new S3Bucket(this, 'bucket', { bucketPrefix: `${props.namePrefix}-alb-logs-`, forceDestroy: true });
    const bucket = this.bucket.id;
    new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', { bucket, rule: { objectOwnership: 'BucketOwnerEnforced' } });
    new S3BucketServerSideEncryptionConfiguration(this, 'encryption', {
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
    new S3BucketVersioning(this, 'versioning', { bucket, versioningConfiguration: { status: 'Enabled' } });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket,
      rule: [
        {
          id: 'expire-logs',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          expiration: [{ days: props.retentionDays }],
          noncurrentVersionExpiration: [{ noncurrentDays: 1 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
    });

    // Regions opened before August 2022 deliver as the regional ELB account;
    // newer ones as the log delivery service. Granting both works everywhere.
    const elb = new DataAwsElbServiceAccount(this, 'elb-account');
    const objects = Object.values(ALB_LOG_PREFIXES).map((prefix) => `${this.bucket.arn}/${prefix}/AWSLogs/${props.accountId}/*`);
    this.policy = new S3BucketPolicy(this, 'policy', {
      bucket,
      policy: Fn.jsonencode({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'ElbAccountDelivers', Effect: 'Allow', Principal: { AWS: elb.arn }, Action: 's3:PutObject', Resource: objects },
          {
            Sid: 'LogDeliveryServiceDelivers',
            Effect: 'Allow',
            Principal: { Service: 'logdelivery.elasticloadbalancing.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: objects,
          },
          {
            Sid: 'TlsOnly',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    });
  }
}
