// Builds the CDKTF app: validates every environment first (so a bad value
// fails before any construct exists), then adds one stack per environment.
import { App } from './cdktf.js';
import { validateEnvironments } from '../config/validate.js';
import { ChatStack, stackName } from './chat-stack.js';
import { FOUNDATION_STACK, FoundationStack } from './foundation.js';
import type { FoundationConfig } from '../config/types.js';

export interface BuildAppOptions {
  /** Environments keyed by name, as in config/environments.ts. */
  readonly environments: Readonly<Record<string, unknown>>;
  /** Where `synth()` writes; cdktf's default is cdktf.out. */
  readonly outdir?: string;
  /** Adds the account's foundation stack (state bucket, GitHub OIDC roles); `bootstrap` keeps its state local. */
  readonly foundation?: { readonly config: FoundationConfig; readonly bootstrap: boolean };
}

export function buildApp(options: BuildAppOptions): { app: App; stackNames: string[] } {
  const environments = validateEnvironments(options.environments);
  const app = new App({ outdir: options.outdir, skipValidation: false });
  for (const env of environments) new ChatStack(app, env);
  const stackNames = environments.map(stackName);
  if (options.foundation) {
    new FoundationStack(app, { ...options.foundation, environments });
    stackNames.push(FOUNDATION_STACK);
  }
  return { app, stackNames };
}
