// The deploy and destroy commands the docs show (docs/deploy.md, README.md,
// CONTRIBUTING.md), each run by test/infra/deploy-commands.test.ts (the
// secrets commands by test/infra/secrets.test.ts) through the stand-ins. test/infra/docs-commands.test.ts fails when a doc shows
// one that is in neither this list nor a workflow step that
// test/workflows/delivery.test.ts runs.
export const COMMANDS = {
  bootstrap: 'FOUNDATION_BOOTSTRAP=1 npm run deploy -- foundation --auto-approve',
  migrate: 'npm run deploy -- foundation --migrate-state --auto-approve',
  deploy: 'npm run deploy -- dev',
  deployWithOutputs: 'npm run deploy -- dev --auto-approve --outputs-file outputs.json',
  readUrl: 'url=$(terraform -chdir=cdktf.out/stacks/chat-dev output -raw url)',
  destroyDev: 'npm run destroy -- dev --auto-approve',
  destroyProd: 'npm run destroy -- prod',
  destroyProdConfirmed: 'npm run destroy -- prod --confirm-destroy=prod --auto-approve',
  destroyFoundation: 'npm run destroy -- foundation --auto-approve',
  // Run by test/infra/secrets.test.ts.
  secretsInit: 'npm run secrets -- init dev',
  secretsRotate: 'npm run secrets -- rotate dev jwt-secret',
  secretsTokens: 'npm run secrets -- tokens dev k6-tokens',
} as const;
