// VPC flow logs of rejected traffic: the record of what the chained security
// groups turned away, kept in an encrypted log group.
import { Construct } from './cdktf.js';
import { DataAwsIamPolicyDocument, FlowLog, IamRole, IamRolePolicy } from './providers.js';
import { EncryptedLogGroup } from './observability.js';

export interface FlowLogsProps {
  readonly namePrefix: string;
  readonly vpcId: string;
  readonly retentionDays: number;
  readonly kmsKeyArn: string;
}

export class FlowLogs extends Construct {
  constructor(scope: Construct, id: string, props: FlowLogsProps) {
    super(scope, id);
    const logs = new EncryptedLogGroup(this, 'logs', {
      name: `/chat/${props.namePrefix}/vpc-flow-logs`,
      retentionDays: props.retentionDays,
      kmsKeyArn: props.kmsKeyArn,
    });
    const assume = new DataAwsIamPolicyDocument(this, 'assume', {
      statement: [{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['vpc-flow-logs.amazonaws.com'] }] }],
    });
    const role = new IamRole(this, 'role', { name: `${props.namePrefix}-flow-logs`, assumeRolePolicy: assume.json });
    const write = new DataAwsIamPolicyDocument(this, 'write', {
      statement: [
        {
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [logs.group.arn, `${logs.group.arn}:*`],
        },
      ],
    });
    new IamRolePolicy(this, 'policy', { name: 'write-flow-logs', role: role.id, policy: write.json });
    new FlowLog(this, 'flow-log', {
      vpcId: props.vpcId,
      trafficType: 'REJECT',
      logDestinationType: 'cloud-watch-logs',
      logDestination: logs.group.arn,
      iamRoleArn: role.arn,
      maxAggregationInterval: 600,
    });
  }
}
