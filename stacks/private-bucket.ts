// Every S3 bucket of the platform (load balancer logs, Terraform state) is
// private the same way: public access blocked, owner-enforced (no ACLs),
// encrypted by default, versioned, expired by lifecycle rules, and a bucket
// policy that denies any request without TLS next to the caller's statements.
// The resources are created in the caller's scope with fixed ids, so their
// Terraform addresses are the caller's own.
import { Fn, type Construct } from './cdktf.js';
import {
  S3Bucket,
  S3BucketLifecycleConfiguration,
  S3BucketOwnershipControls,
  S3BucketPolicy,
  S3BucketPublicAccessBlock,
  S3BucketServerSideEncryptionConfiguration,
  S3BucketVersioning,
  type S3BucketConfig,
  type S3BucketEncryptionRule,
  type S3BucketLifecycleConfigurationRule,
} from './providers.js';

export interface PrivateBucketProps {
  readonly bucket: Pick<S3BucketConfig, 'bucket' | 'bucketPrefix' | 'forceDestroy' | 'lifecycle'>;
  readonly encryption: S3BucketEncryptionRule;
  readonly lifecycleRules: S3BucketLifecycleConfigurationRule[];
  /** Policy statements besides TLS-only, given the bucket's ARN. */
  readonly statements?: (bucketArn: string) => object[];
}

export function privateBucket(scope: Construct, props: PrivateBucketProps): { bucket: S3Bucket; policy: S3BucketPolicy } {
  const resource = new S3Bucket(scope, 'bucket', props.bucket);
  const bucket = resource.id;
  new S3BucketPublicAccessBlock(scope, 'public-access', {
    bucket,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new S3BucketOwnershipControls(scope, 'ownership', { bucket, rule: { objectOwnership: 'BucketOwnerEnforced' } });
  new S3BucketServerSideEncryptionConfiguration(scope, 'encryption', { bucket, rule: [props.encryption] });
  new S3BucketVersioning(scope, 'versioning', { bucket, versioningConfiguration: { status: 'Enabled' } });
  new S3BucketLifecycleConfiguration(scope, 'lifecycle', { bucket, rule: props.lifecycleRules });
  const policy = new S3BucketPolicy(scope, 'policy', {
    bucket,
    policy: Fn.jsonencode({
      Version: '2012-10-17',
      Statement: [
        ...(props.statements?.(resource.arn) ?? []),
        {
          Sid: 'TlsOnly',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [resource.arn, `${resource.arn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    }),
  });
  return { bucket: resource, policy };
}
