// S3 bucket for the load balancer's access and connection logs: private,
// owner-enforced, TLS-only, encrypted, and emptied by a lifecycle rule.
// Encrypted with S3-managed keys because ELB log delivery supports no other.
import { Construct } from './cdktf.js';
import { DataAwsElbServiceAccount, type S3Bucket, type S3BucketPolicy } from './providers.js';
import { privateBucket } from './private-bucket.js';

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
    // Regions opened before August 2022 deliver as the regional ELB account;
    // newer ones as the log delivery service. Granting both works everywhere.
    const elb = new DataAwsElbServiceAccount(this, 'elb-account');
    const objects = (arn: string) => Object.values(ALB_LOG_PREFIXES).map((prefix) => `${arn}/${prefix}/AWSLogs/${props.accountId}/*`);
    ({ bucket: this.bucket, policy: this.policy } = privateBucket(this, {
      bucket: { bucketPrefix: `${props.namePrefix}-alb-logs-`, forceDestroy: true },
      encryption: { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
      lifecycleRules: [
        {
          id: 'expire-logs',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          expiration: [{ days: props.retentionDays }],
          noncurrentVersionExpiration: [{ noncurrentDays: 1 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
      statements: (arn) => [
        { Sid: 'ElbAccountDelivers', Effect: 'Allow', Principal: { AWS: elb.arn }, Action: 's3:PutObject', Resource: objects(arn) },
        {
          Sid: 'LogDeliveryServiceDelivers',
          Effect: 'Allow',
          Principal: { Service: 'logdelivery.elasticloadbalancing.amazonaws.com' },
          Action: 's3:PutObject',
          Resource: objects(arn),
        },
      ],
    }));
  }
}
