// Builds the CDKTF app: validates every environment first (so a bad value
// fails before any construct exists), then adds one stack per environment.
import { App } from './cdktf.js';
import { validateEnvironments } from '../config/validate.js';
import { ChatStack, stackName } from './chat-stack.js';

export interface BuildAppOptions {
  /** Environments keyed by name, as in config/environments.ts. */
  readonly environments: Readonly<Record<string, unknown>>;
  /** Where `synth()` writes; cdktf's default is cdktf.out. */
  readonly outdir?: string;
}

export function buildApp(options: BuildAppOptions): { app: App; stackNames: string[] } {
  const environments = validateEnvironments(options.environments);
  const app = new App({ outdir: options.outdir, skipValidation: false });
  for (const env of environments) new ChatStack(app, env);
  return { app, stackNames: environments.map(stackName) };
}
