// The foundation stack, applied once per AWS account before any environment:
// the bucket that keeps every stack's Terraform state (private like every
// bucket, see private-bucket.ts, KMS-encrypted and never destroyed), and the GitHub OIDC
// provider with two roles per environment, trusted only by that repository's
// GitHub environments through the token's `sub` claim:
//   chat-<env>-plan   read-only (pull request plans, nightly drift), GitHub environment <env>-plan
//   chat-<env>-apply  applies a reviewed plan, GitHub environment <env> (reviewers on prod)
// It starts on local state and then moves itself into its own bucket (docs/deploy.md).
import { Construct, Fn, LocalBackend, S3Backend, TerraformOutput, TerraformStack } from './cdktf.js';
import {
  AwsProvider,
  DataAwsCallerIdentity,
  DataAwsIamPolicyDocument,
  DataAwsPartition,
  IamOpenidConnectProvider,
  IamRole,
  IamRolePolicy,
  IamRolePolicyAttachment,
  KmsAlias,
  KmsKey,
} from './providers.js';
import { privateBucket } from './private-bucket.js';
import { FOUNDATION_STATE_KEY } from '../config/foundation.js';
import type { EnvironmentConfig, FoundationConfig } from '../config/types.js';

export const FOUNDATION_STACK = 'chat-foundation';
const GITHUB_OIDC = 'token.actions.githubusercontent.com';
/** Old state versions stay recoverable this long, then expire. */
export const NONCURRENT_STATE_DAYS = 90;

export interface FoundationProps {
  readonly config: FoundationConfig;
  readonly environments: readonly EnvironmentConfig[];
  /** First apply of a new account: the bucket does not exist yet, so the state starts local. */
  readonly bootstrap: boolean;
}

export class FoundationStack extends TerraformStack {
  constructor(scope: Construct, props: FoundationProps) {
    super(scope, FOUNDATION_STACK);
    const { config } = props;
    if (props.bootstrap) new LocalBackend(this, { path: `../../../terraform.${FOUNDATION_STACK}.tfstate` });
    else {
      const backend = new S3Backend(this, { bucket: config.stateBucket, key: FOUNDATION_STATE_KEY, region: config.region, encrypt: true });
      backend.addOverride('use_lockfile', true);
    }
    new AwsProvider(this, 'aws', { region: config.region, defaultTags: [{ tags: { Project: 'chat-platform', Component: 'foundation', ManagedBy: 'cdktf' } }] });
    const account = new DataAwsCallerIdentity(this, 'account');
    const partition = new DataAwsPartition(this, 'partition');
    const accountRoot = `arn:${partition.partition}:iam::${account.accountId}:root`;

    const key = new KmsKey(this, 'state-key', {
      description: 'Terraform state of the chat platform',
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: Fn.jsonencode({
        Version: '2012-10-17',
        // Key policy: "Resource": "*" is this key; IAM policies of the account decide who uses it.
        Statement: [{ Sid: 'AccountAdministers', Effect: 'Allow', Principal: { AWS: accountRoot }, Action: 'kms:*', Resource: '*' }],
      }),
      lifecycle: { preventDestroy: true },
    });
    new KmsAlias(this, 'state-key-alias', { name: 'alias/chat-terraform-state', targetKeyId: key.keyId });

    const { bucket } = privateBucket(new Construct(this, 'state'), {
      bucket: { bucket: config.stateBucket, lifecycle: { preventDestroy: true } },
      encryption: { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.arn }, bucketKeyEnabled: true },
      lifecycleRules: [
        {
          id: 'expire-old-state-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          noncurrentVersionExpiration: [{ noncurrentDays: NONCURRENT_STATE_DAYS }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });

    const github = new IamOpenidConnectProvider(this, 'github', { url: `https://${GITHUB_OIDC}`, clientIdList: ['sts.amazonaws.com'] });

    for (const env of props.environments) {
      const prefix = `chat-${env.name}`;
      const stateKey = env.state.backend === 's3' ? env.state.key : `${prefix}/terraform.tfstate`;
      const trust = (githubEnvironment: string, id: string) =>
        new DataAwsIamPolicyDocument(this, `${prefix}-${id}-trust`, {
          statement: [
            {
              actions: ['sts:AssumeRoleWithWebIdentity'],
              principals: [{ type: 'Federated', identifiers: [github.arn] }],
              condition: [
                { test: 'StringEquals', variable: `${GITHUB_OIDC}:aud`, values: ['sts.amazonaws.com'] },
                // Exactly one repository and one GitHub environment: a branch or a fork cannot assume it.
                { test: 'StringEquals', variable: `${GITHUB_OIDC}:sub`, values: [`repo:${config.githubRepository}:environment:${githubEnvironment}`] },
              ],
            },
          ],
        });
      // The state of this environment only; the plan role may write nothing but the lock file.
      const state = (id: string, write: boolean) =>
        new DataAwsIamPolicyDocument(this, `${prefix}-${id}-state-policy`, {
          statement: [
            { sid: 'ListOwnState', actions: ['s3:ListBucket'], resources: [bucket.arn], condition: [{ test: 'StringLike', variable: 's3:prefix', values: [`${prefix}/*`] }] },
            { sid: 'ReadState', actions: ['s3:GetObject'], resources: [`${bucket.arn}/${stateKey}`, `${bucket.arn}/${stateKey}.tflock`] },
            { sid: 'Lock', actions: ['s3:PutObject', 's3:DeleteObject'], resources: [`${bucket.arn}/${stateKey}.tflock`] },
            ...(write ? [{ sid: 'WriteState', actions: ['s3:PutObject'], resources: [`${bucket.arn}/${stateKey}`] }] : []),
            { sid: 'StateKey', actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], resources: [key.arn] },
          ],
        });

      const plan = new IamRole(this, `${prefix}-plan`, {
        name: `${prefix}-plan`,
        description: `Read-only: pull request plans and drift checks of ${prefix}`,
        assumeRolePolicy: trust(`${env.name}-plan`, 'plan').json,
        maxSessionDuration: 3600,
      });
      new IamRolePolicyAttachment(this, `${prefix}-plan-read-only`, { role: plan.name, policyArn: `arn:${partition.partition}:iam::aws:policy/ReadOnlyAccess` });
      new IamRolePolicy(this, `${prefix}-plan-state`, { role: plan.id, name: 'state', policy: state('plan', false).json });

      const apply = new IamRole(this, `${prefix}-apply`, {
        name: `${prefix}-apply`,
        description: `Applies reviewed plans of ${prefix}`,
        assumeRolePolicy: trust(env.name, 'apply').json,
        maxSessionDuration: 7200,
      });
      // Everything but IAM and account settings; IAM below, limited to the stack's own names.
      new IamRolePolicyAttachment(this, `${prefix}-apply-power-user`, { role: apply.name, policyArn: `arn:${partition.partition}:iam::aws:policy/PowerUserAccess` });
      const iam = new DataAwsIamPolicyDocument(this, `${prefix}-apply-iam-policy`, {
        statement: [
          {
            sid: 'OwnRolesAndProfiles',
            actions: ['iam:*Role*', 'iam:*InstanceProfile*', 'iam:PassRole'],
            resources: [`arn:${partition.partition}:iam::${account.accountId}:role/${prefix}-*`, `arn:${partition.partition}:iam::${account.accountId}:instance-profile/${prefix}-*`],
          },
          {
            sid: 'ServiceLinkedRoles',
            actions: ['iam:CreateServiceLinkedRole'],
            resources: [`arn:${partition.partition}:iam::${account.accountId}:role/aws-service-role/*`],
          },
        ],
      });
      new IamRolePolicy(this, `${prefix}-apply-iam`, { role: apply.id, name: 'iam', policy: iam.json });
      new IamRolePolicy(this, `${prefix}-apply-state`, { role: apply.id, name: 'state', policy: state('apply', true).json });

      new TerraformOutput(this, `${env.name}_plan_role_arn`, { value: plan.arn, description: `AWS_PLAN_ROLE_ARN of the GitHub environment ${env.name}-plan` });
      new TerraformOutput(this, `${env.name}_apply_role_arn`, { value: apply.arn, description: `AWS_APPLY_ROLE_ARN of the GitHub environment ${env.name}` });
    }
    new TerraformOutput(this, 'state_bucket', { value: bucket.bucket, description: 'Bucket of every stack state' });
  }
}
