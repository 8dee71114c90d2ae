// Where Terraform keeps the state of a stack: a local file by default, or an
// S3 bucket with locking when the environment says so.
import { LocalBackend, S3Backend } from './cdktf.js';
import type { TerraformStack } from './cdktf.js';
import type { StateConfig } from '../config/types.js';

export function configureBackend(stack: TerraformStack, stackName: string, state: StateConfig): void {
  if (state.backend === 'local') {
    // Relative to the stack's working directory cdktf.out/stacks/<stack>: the state sits in
    // the project root (gitignored) and survives cleaning cdktf.out. A relative path also
    // keeps the synthesized JSON identical on every machine.
    new LocalBackend(stack, { path: `../../../terraform.${stackName}.tfstate` });
    return;
  }
  const backend = new S3Backend(stack, {
    bucket: state.bucket,
    key: state.key,
    region: state.region,
    encrypt: true,
    ...(state.dynamodbTable ? { dynamodbTable: state.dynamodbTable } : {}),
  });
  // Native S3 locking (Terraform and OpenTofu 1.10+); cdktf 0.21 has no typed option for it yet.
  if (!state.dynamodbTable) backend.addOverride('use_lockfile', true);
}
