// The only module that imports the CDKTF core library (and the constructs base).
// CDKTF is no longer maintained upstream; moving to its community fork means
// changing the package names here and in stacks/providers.ts, nothing else.
export {
  App,
  Fn,
  LocalBackend,
  S3Backend,
  TerraformIterator,
  TerraformOutput,
  TerraformStack,
  Testing,
  Token,
} from 'cdktf';
export type { S3BackendConfig } from 'cdktf';
export { Construct } from 'constructs';
