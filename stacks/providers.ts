// The only module that imports the prebuilt provider bindings. Deep imports keep
// synth fast (the package index would load all ~2,000 AWS resource classes).
// Together with stacks/cdktf.ts this is what changes when moving to the
// community fork of CDKTF and its provider packages.
export { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
export { Vpc } from '@cdktf/provider-aws/lib/vpc/index.js';
export { Subnet } from '@cdktf/provider-aws/lib/subnet/index.js';
export { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway/index.js';
export { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway/index.js';
export { Eip } from '@cdktf/provider-aws/lib/eip/index.js';
export { RouteTable } from '@cdktf/provider-aws/lib/route-table/index.js';
export { Route } from '@cdktf/provider-aws/lib/route/index.js';
export { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association/index.js';
export { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group/index.js';
export { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
export { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
export { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js';
export { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint/index.js';
export { FlowLog } from '@cdktf/provider-aws/lib/flow-log/index.js';
export { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
export { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';
export { DataAwsRoute53Zone } from '@cdktf/provider-aws/lib/data-aws-route53-zone/index.js';
export { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
export { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate/index.js';
export { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation/index.js';
export { Route53Record } from '@cdktf/provider-aws/lib/route53-record/index.js';
export { Lb } from '@cdktf/provider-aws/lib/lb/index.js';
export { LbListener } from '@cdktf/provider-aws/lib/lb-listener/index.js';
export { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group/index.js';
export { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template/index.js';
export { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group/index.js';
export { AutoscalingPolicy } from '@cdktf/provider-aws/lib/autoscaling-policy/index.js';
export { AutoscalingLifecycleHook } from '@cdktf/provider-aws/lib/autoscaling-lifecycle-hook/index.js';
export { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
export { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
export { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile/index.js';
export { ElasticacheReplicationGroup } from '@cdktf/provider-aws/lib/elasticache-replication-group/index.js';
export { ElasticacheSubnetGroup } from '@cdktf/provider-aws/lib/elasticache-subnet-group/index.js';
export { ElasticacheParameterGroup } from '@cdktf/provider-aws/lib/elasticache-parameter-group/index.js';
export { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
export { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
export { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
export { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
export { Wafv2WebAcl } from '@cdktf/provider-aws/lib/wafv2-web-acl/index.js';
export type { Wafv2WebAclRule } from '@cdktf/provider-aws/lib/wafv2-web-acl/index.js';
export { Wafv2WebAclAssociation } from '@cdktf/provider-aws/lib/wafv2-web-acl-association/index.js';
export { Wafv2WebAclLoggingConfiguration } from '@cdktf/provider-aws/lib/wafv2-web-acl-logging-configuration/index.js';
export { LbListenerRule } from '@cdktf/provider-aws/lib/lb-listener-rule/index.js';
export { DataAwsElbServiceAccount } from '@cdktf/provider-aws/lib/data-aws-elb-service-account/index.js';
export { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
export { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
export { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
export { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
export { S3BucketVersioningA as S3BucketVersioning } from '@cdktf/provider-aws/lib/s3-bucket-versioning/index.js';
export { S3BucketServerSideEncryptionConfigurationA as S3BucketServerSideEncryptionConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
export { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
export { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
export { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
export { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';
// Foundation stack (stacks/foundation.ts): GitHub OIDC and the deploy roles; its bucket uses the S3 exports above.
export { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider/index.js';
export { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
// ElastiCache RBAC with IAM authentication (stacks/cache.ts).
export { ElasticacheUser } from '@cdktf/provider-aws/lib/elasticache-user/index.js';
export { ElasticacheUserGroup } from '@cdktf/provider-aws/lib/elasticache-user-group/index.js';
export type { S3BucketConfig } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
export type { S3BucketLifecycleConfigurationRule } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
export type { S3BucketServerSideEncryptionConfigurationRuleA as S3BucketEncryptionRule } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
// Identity (stacks/identity.ts): the secrets of the token key and publish API key (values set outside Terraform).
export { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret/index.js';
