// Entry point of `npm run synth` (and of the deploy script's synth): one stack
// per environment of config/environments.ts and the account's foundation stack
// (chat-foundation), written to cdktf.out/. FOUNDATION_BOOTSTRAP=1 keeps the
// foundation's state local for its very first apply (docs/deploy.md).
import { environments } from './config/environments.js';
import { foundation } from './config/foundation.js';
import { ConfigError } from './config/validate.js';
import { buildApp } from './stacks/app.js';

try {
  const bootstrap = process.env.FOUNDATION_BOOTSTRAP === '1';
  const { app } = buildApp({ environments, foundation: { config: foundation, bootstrap } });
  app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
