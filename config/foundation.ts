// The account-level settings of the foundation stack (stacks/foundation.ts),
// applied once per AWS account: where every environment keeps its Terraform
// state and which GitHub repository may assume the deploy roles. Edit the
// bucket and repository before the bootstrap (docs/deploy.md).
import type { FoundationConfig } from './types.js';

export const foundation: FoundationConfig = {
  region: 'eu-west-1',
  /** Globally unique; the foundation stack creates it and then keeps its own state in it. */
  stateBucket: 'example-chat-platform-tfstate',
  /** owner/name of the repository whose workflows plan and apply. */
  githubRepository: 'example-org/chat-platform',
};

/** Every environment's state: the foundation bucket, one key per environment, S3 lock file. */
export function remoteState(environment: string) {
  return { backend: 's3', bucket: foundation.stateBucket, key: `chat-${environment}/terraform.tfstate`, region: foundation.region } as const;
}

/** The foundation stack's own state, once it has moved into its bucket. */
export const FOUNDATION_STATE_KEY = 'foundation/terraform.tfstate';
