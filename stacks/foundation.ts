// The foundation stack, applied once per AWS account before any environment:
// the bucket that keeps every stack's Terraform state (private like every
// bucket, see private-bucket.ts, KMS-encrypted and never destroyed), and the GitHub OIDC
// provider with two roles per environment, trusted only by that repository's
// GitHub environments through the token's `sub` claim:
//   chat-<env>-plan   read-only without secret values (pull request plans, nightly drift), GitHub environment <env>-plan
//   chat-<env>-apply  applies a reviewed plan with the services its stack creates only, GitHub environment <env> (reviewers on prod)
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
      const lockTable =
        env.state.backend === 's3' && env.state.dynamodbTable
          ? `arn:${partition.partition}:dynamodb:${env.state.region}:${account.accountId}:table/${env.state.dynamodbTable}`
          : undefined;
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
            // A DynamoDB lock table instead of the S3 lock file: every plan and apply takes the lock.
            ...(lockTable
              ? [{ sid: 'LockTable', actions: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], resources: [lockTable] }]
              : []),
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
      new IamRolePolicy(this, `${prefix}-plan-without-secrets`, { role: plan.id, name: 'without-secrets', policy: new DataAwsIamPolicyDocument(this, `${prefix}-plan-without-secrets-policy`, { statement: planDenials(bucket.arn, stateKey, key.arn) }).json });

      const apply = new IamRole(this, `${prefix}-apply`, {
        name: `${prefix}-apply`,
        description: `Applies reviewed plans of ${prefix}`,
        assumeRolePolicy: trust(env.name, 'apply').json,
        maxSessionDuration: 7200,
      });
      const scope: ApplyScope = {
        env,
        prefix,
        arn: (service, rest, { region = env.region, account: owner = account.accountId } = {}) => `arn:${partition.partition}:${service}:${region}:${owner}:${rest}`,
      };
      new IamRolePolicy(this, `${prefix}-apply-services`, { role: apply.id, name: 'services', policy: new DataAwsIamPolicyDocument(this, `${prefix}-apply-services-policy`, { statement: applyStatements(scope, key.arn) }).json });
      new IamRolePolicy(this, `${prefix}-apply-state`, { role: apply.id, name: 'state', policy: state('apply', true).json });

      new TerraformOutput(this, `${env.name}_plan_role_arn`, { value: plan.arn, description: `AWS_PLAN_ROLE_ARN of the GitHub environment ${env.name}-plan` });
      new TerraformOutput(this, `${env.name}_apply_role_arn`, { value: apply.arn, description: `AWS_APPLY_ROLE_ARN of the GitHub environment ${env.name}` });
    }
    new TerraformOutput(this, 'state_bucket', { value: bucket.bucket, description: 'Bucket of every stack state' });
  }
}

type PolicyStatements = NonNullable<NonNullable<ConstructorParameters<typeof DataAwsIamPolicyDocument>[2]>['statement']>;
type Statement = Extract<PolicyStatements, readonly unknown[]>[number];

interface ApplyScope {
  readonly env: EnvironmentConfig;
  /** chat-<env>: every name the environment's stack gives starts with it. */
  readonly prefix: string;
  /** ARN in the environment's region and this account; '' for a part the service's ARNs leave empty. */
  readonly arn: (service: string, rest: string, parts?: { region?: string; account?: string }) => string;
}

/** The IAM roles a chat stack creates (stacks/compute.ts, stacks/flow-logs.ts), each with the one service it is passed to. */
export const STACK_ROLES = [
  { suffix: 'instance', passedTo: 'ec2.amazonaws.com' },
  { suffix: 'flow-logs', passedTo: 'vpc-flow-logs.amazonaws.com' },
] as const;
/** Service-linked roles the stack's services create on first use. */
const SERVICE_LINKED = ['autoscaling.amazonaws.com', 'elasticache.amazonaws.com', 'elasticloadbalancing.amazonaws.com', 'wafv2.amazonaws.com'];

/**
 * The apply role's permissions: the service families a chat stack creates
 * (test/infra/apply-policy.test.ts derives them from every environment's
 * synthesized resources and requires exactly these), each scoped to the
 * environment's names where ARNs carry them, else to its account and region.
 * Lookups that IAM only grants on "*" come first; no managed policy, no "*" action.
 */
function applyStatements({ env, prefix, arn }: ApplyScope, stateKeyArn: string): Statement[] {
  const global = { region: '', account: '' };
  // The same switches as stacks/chat-stack.ts: no WAF or flow logs, no permission for them.
  const waf = env.waf?.enabled !== false;
  // stacks/identity.ts: the HS256 secret unless a JWKS URL is used, the publish API key when the API is on.
  const secrets = !env.identity.jwksUrl || env.identity.publishApi !== undefined;
  const roles = STACK_ROLES.filter((r) => r.suffix !== 'flow-logs' || env.network.flowLogs);
  const loadBalancer = arn('elasticloadbalancing', `loadbalancer/app/${prefix}/*`);
  return [
    {
      // Lookups and creations IAM grants only on "*": in the environment's region only.
      sid: 'RegionalLookups',
      actions: [
        'acm:ListCertificates',
        'acm:RequestCertificate',
        'autoscaling:Describe*',
        'ec2:Describe*',
        'elasticache:Describe*',
        'elasticloadbalancing:Describe*',
        'kms:CreateKey',
        'kms:ListAliases',
        'logs:DescribeLogGroups',
        'logs:DescribeResourcePolicies',
        'sns:ListTopics',
        ...(waf ? ['wafv2:ListWebACLs'] : []),
        // ElastiCache and WAF deliver their logs to CloudWatch Logs through log deliveries.
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
      ],
      resources: ['*'],
      condition: [{ test: 'StringEquals', variable: 'aws:RequestedRegion', values: [env.region] }],
    },
    { sid: 'FindZone', actions: ['route53:ListHostedZones', 'route53:ListHostedZonesByName'], resources: ['*'] },
    // Network, instances, launch templates: ids are generated, so this account and region.
    { sid: 'Network', actions: ['ec2:*'], resources: [arn('ec2', '*'), arn('ec2', 'image/*', { account: '' }), arn('ec2', 'snapshot/*', { account: '' })] },
    {
      sid: 'LoadBalancer',
      actions: ['elasticloadbalancing:*'],
      resources: [loadBalancer, arn('elasticloadbalancing', `listener/app/${prefix}/*`), arn('elasticloadbalancing', `listener-rule/app/${prefix}/*`), arn('elasticloadbalancing', `targetgroup/${prefix}-*/*`)],
    },
    { sid: 'AutoScaling', actions: ['autoscaling:*'], resources: [arn('autoscaling', `autoScalingGroup:*:autoScalingGroupName/${prefix}`)] },
    { sid: 'Cache', actions: ['elasticache:*'], resources: [arn('elasticache', `*:${prefix}`), arn('elasticache', `*:${prefix}-*`)] },
    { sid: 'LogGroups', actions: ['logs:*'], resources: [arn('logs', `log-group:/chat/${prefix}/*`), ...(waf ? [arn('logs', `log-group:aws-waf-logs-${prefix}`), arn('logs', `log-group:aws-waf-logs-${prefix}:*`)] : [])] },
    { sid: 'Alarms', actions: ['cloudwatch:*'], resources: [arn('cloudwatch', `alarm:${prefix}-*`)] },
    { sid: 'AlarmTopic', actions: ['sns:*'], resources: [arn('sns', `${prefix}-*`)] },
    ...(waf
      ? [{ sid: 'Waf', actions: ['wafv2:*'], resources: [arn('wafv2', `regional/webacl/${prefix}/*`), arn('wafv2', 'regional/managedruleset/*/*'), loadBalancer] }]
      : []),
    { sid: 'Certificates', actions: ['acm:*'], resources: [arn('acm', 'certificate/*')] },
    {
      sid: 'ReadZones',
      actions: ['route53:GetHostedZone', 'route53:ListResourceRecordSets', 'route53:ListTagsForResource', 'route53:GetChange'],
      resources: [arn('route53', 'hostedzone/*', global), arn('route53', 'change/*', global)],
    },
    {
      // Only the environment's own name and names under it (aliases, ACM validation records).
      sid: 'OwnRecords',
      actions: ['route53:ChangeResourceRecordSets'],
      resources: [arn('route53', 'hostedzone/*', global)],
      condition: [{ test: 'ForAllValues:StringLike', variable: 'route53:ChangeResourceRecordSetsNormalizedRecordNames', values: [env.dns.domainName, `*.${env.dns.domainName}`] }],
    },
    {
      // Key ids are generated; the state key is kept out by the statement after this one.
      sid: 'StackKey',
      actions: [
        'kms:CreateGrant',
        'kms:DescribeKey',
        'kms:EnableKeyRotation',
        'kms:GetKeyPolicy',
        'kms:GetKeyRotationStatus',
        'kms:ListResourceTags',
        'kms:PutKeyPolicy',
        'kms:ScheduleKeyDeletion',
        'kms:TagResource',
        'kms:UntagResource',
        'kms:UpdateKeyDescription',
      ],
      resources: [arn('kms', 'key/*')],
    },
    ...(secrets
      ? [
          // The generated secrets (chat-<env>/<name>-<suffix>) and their values, which Secrets Manager encrypts with the stack key.
          { sid: 'Secrets', actions: ['secretsmanager:*'], resources: [arn('secretsmanager', `secret:${prefix}/*`)] },
          {
            sid: 'SecretsUseStackKey',
            actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
            resources: [arn('kms', 'key/*')],
            condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`secretsmanager.${env.region}.amazonaws.com`] }],
          },
        ]
      : []),
    { sid: 'StackKeyAlias', actions: ['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'], resources: [arn('kms', `alias/${prefix}`), arn('kms', 'key/*')] },
    { sid: 'KeepStateKey', effect: 'Deny', actions: ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:CreateGrant', 'kms:UntagResource', 'kms:TagResource'], resources: [stateKeyArn] },
    { sid: 'AlbLogsBucket', actions: ['s3:*'], resources: [arn('s3', `${prefix}-alb-logs-*`, global)] },
    {
      // The stack's own roles only (never chat-<env>-plan/-apply, so it cannot widen itself).
      sid: 'StackRoles',
      actions: [
        'iam:CreateRole',
        'iam:DeleteRole',
        'iam:GetRole',
        'iam:UpdateRole',
        'iam:UpdateRoleDescription',
        'iam:UpdateAssumeRolePolicy',
        'iam:TagRole',
        'iam:UntagRole',
        'iam:ListRoleTags',
        'iam:PutRolePolicy',
        'iam:GetRolePolicy',
        'iam:DeleteRolePolicy',
        'iam:ListRolePolicies',
        'iam:ListAttachedRolePolicies',
        'iam:ListInstanceProfilesForRole',
        'iam:CreateInstanceProfile',
        'iam:DeleteInstanceProfile',
        'iam:GetInstanceProfile',
        'iam:AddRoleToInstanceProfile',
        'iam:RemoveRoleFromInstanceProfile',
        'iam:TagInstanceProfile',
        'iam:UntagInstanceProfile',
      ],
      resources: [...roles.map((r) => iamArn(arn, `role/${prefix}-${r.suffix}`)), iamArn(arn, `instance-profile/${prefix}-instance`)],
    },
    ...roles.map((r) => ({
      sid: `Pass${r.suffix.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase())}Role`,
      actions: ['iam:PassRole'],
      resources: [iamArn(arn, `role/${prefix}-${r.suffix}`)],
      condition: [{ test: 'StringEquals', variable: 'iam:PassedToService', values: [r.passedTo] }],
    })),
    {
      sid: 'ServiceLinkedRoles',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [iamArn(arn, 'role/aws-service-role/*')],
      condition: [{ test: 'StringEquals', variable: 'iam:AWSServiceName', values: SERVICE_LINKED.filter((service) => waf || service !== 'wafv2.amazonaws.com') }],
    },
  ];
}

/** IAM ARNs are global: no region. */
function iamArn(arn: ApplyScope['arn'], rest: string): string {
  return arn('iam', rest, { region: '' });
}

/**
 * What ReadOnlyAccess would let a pull request's plan read but it must not:
 * secret values, parameters (SecureString decrypts), anything a key other than
 * the state key protects, and the state of other environments.
 */
function planDenials(bucketArn: string, stateKey: string, stateKeyArn: string): Statement[] {
  return [
    { sid: 'NoSecretValues', effect: 'Deny', actions: ['secretsmanager:GetSecretValue', 'secretsmanager:BatchGetSecretValue'], resources: ['*'] },
    { sid: 'NoParameterValues', effect: 'Deny', actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory'], resources: ['*'] },
    { sid: 'DecryptOnlyState', effect: 'Deny', actions: ['kms:Decrypt'], notResources: [stateKeyArn] },
    { sid: 'OnlyOwnState', effect: 'Deny', actions: ['s3:GetObject', 's3:GetObjectVersion'], notResources: [`${bucketArn}/${stateKey}`, `${bucketArn}/${stateKey}.tflock`] },
  ];
}
