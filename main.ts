// Entry point of `cdktf synth|deploy|destroy` and `npm run synth`: one stack
// per environment of config/environments.ts, written to cdktf.out/.
import { environments } from './config/environments.js';
import { ConfigError } from './config/validate.js';
import { buildApp } from './stacks/app.js';

try {
  const { app } = buildApp({ environments });
  app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
