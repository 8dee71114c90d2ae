// Mints the k6 load test's tokens for an environment whose tokens are HS256
// with the secret in Secrets Manager (npm run secrets -- tokens ENV FILE pipes
// the secret in): one token per VU, each its own user, so presence sees as
// many users as connections.
//
//   tsx scripts/infra/loadtest-tokens.ts ENV FILE [--count N] [--ttl SECONDS]  < secret
//
// The secret is read from stdin, never from argv (visible in ps). The issuer
// and audience are the environment's (config/environments.ts identity). FILE
// gets one token a line, created with mode 0600; the tokens are never printed.
// Without --count: as many as the largest scenario has VUs
// (loadtest/lib/scenarios.js). Tokens: sub loadtest-<n>, name "k6 <n>", rooms
// lt-* (the k6 rooms), valid for --ttl seconds (2 h by default).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { writeTokenFile } from '../local/auth.js';
import { environments } from '../../config/environments.js';
import { validateEnvironments } from '../../config/validate.js';
import { SCENARIOS, scenarioVus } from '../../loadtest/lib/scenarios.js';

const DEFAULT_TTL_SECONDS = 2 * 3600;
const MAX_COUNT = 100_000;

/** VUs of the largest scenario: enough tokens for any of them. */
export function largestScenarioVus(): number {
  return Math.max(...Object.keys(SCENARIOS).map(scenarioVus));
}

export interface Signer {
  secret: string;
  issuer: string;
  audience: string;
}

/** Token n (1-based): user loadtest-<n>, the k6 rooms only. */
export function mintLoadtestToken(signer: Signer, n: number, ttlSeconds: number): Promise<string> {
  return new SignJWT({ name: `k6 ${n}`, rooms: ['lt-*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(`loadtest-${n}`)
    .setIssuer(signer.issuer)
    .setAudience(signer.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(signer.secret));
}


function fail(message: string): never {
  process.stderr.write(`loadtest-tokens: ${message}\n`);
  process.exit(2);
}

function positiveInteger(flag: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) fail(`--${flag} must be an integer from 1 to ${max} (got ${raw})`);
  return value;
}

async function main(argv: string[]): Promise<void> {
  const usage = 'usage: loadtest-tokens.ts ENV FILE [--count N] [--ttl SECONDS] < secret';
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { count: { type: 'string' }, ttl: { type: 'string' } } });
  } catch (error) {
    fail(`${(error as Error).message}\n${usage}`);
  }
  const [name, file] = parsed.positionals;
  if (name === undefined || file === undefined || parsed.positionals.length !== 2) fail(usage);
  const valid = validateEnvironments(environments);
  const env = valid.find((e) => e.name === name.replace(/^chat-/, ''));
  if (!env) fail(`unknown environment '${name}' (known: ${valid.map((e) => e.name).join(', ')})`);
  if (env.identity.jwksUrl !== undefined) {
    fail(`${env.name} verifies tokens with ${env.identity.jwksUrl}: mint load-test tokens with that issuer and pass them with npm run loadtest -- --tokens FILE`);
  }
  const count = positiveInteger('count', parsed.values.count, largestScenarioVus(), MAX_COUNT);
  const ttl = positiveInteger('ttl', parsed.values.ttl, DEFAULT_TTL_SECONDS, 7 * 24 * 3600);
  // One trailing newline (a here-string, echo) is not part of the secret.
  const secret = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (secret === '') fail('no secret on stdin (the environment\'s jwt-secret has no value? run: npm run secrets -- init ENV)');
  const signer = { secret, issuer: env.identity.issuer, audience: env.identity.audience };
  const tokens = await Promise.all(Array.from({ length: count }, (_, i) => mintLoadtestToken(signer, i + 1, ttl)));
  try {
    writeTokenFile(file, tokens);
  } catch (error) {
    fail(`cannot write ${file}: ${(error as Error).message}`);
  }
  process.stderr.write(`loadtest-tokens: ${count} tokens for ${env.name} (users loadtest-1..${count}, rooms lt-*, valid ${ttl} s) in ${file}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main(process.argv.slice(2));
