// Recording stand-in for npm, used by the workflow runner: `npm ci` (node_modules
// is already linked) and `npm run loadtest` (its target is a deployment that does
// not exist here; k6 itself is tested in test/loadtest) are recorded only;
// everything else goes to the real npm ($STANDIN_REAL_NPM).
// For `npm run loadtest -- --tokens FILE` the record also says what FILE holds,
// never a token: its mode, its lines, how many verify (HS256) with the current
// value of a secret the aws stand-in keeps (and which), and their claims.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeJwt, jwtVerify } from 'jose';
import { record, standinDir } from './record.mjs';

/** The AWSCURRENT values of the aws stand-in's secrets, by secret id. */
function currentSecrets() {
  const dir = join(standinDir(), 'aws', 'secrets');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((file) => {
    const secret = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const current = secret.versions.find((v) => v.stages.includes('AWSCURRENT'));
    return current === undefined ? [] : [{ id: secret.arn, value: current.value }];
  });
}

async function describeTokens(file) {
  const path = resolve(file);
  if (!existsSync(path)) return { exists: false };
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const secrets = currentSecrets();
  const verifiedBy = new Set();
  let verified = 0;
  const claims = [];
  for (const line of lines) {
    for (const secret of secrets) {
      const ok = await jwtVerify(line, new TextEncoder().encode(secret.value), { algorithms: ['HS256'] }).then(() => true, () => false);
      if (ok) {
        verified++;
        verifiedBy.add(secret.id);
        break;
      }
    }
    const { sub, iss, aud, rooms, name, iat, exp } = decodeJwt(line);
    claims.push({ sub, iss, aud, rooms, name, ttl: exp - iat });
  }
  const unique = (values) => [...new Set(values.map((v) => JSON.stringify(v)))].map((v) => JSON.parse(v));
  return {
    exists: true,
    mode: (statSync(path).mode & 0o777).toString(8),
    lines: lines.length,
    verified,
    verifiedBy: [...verifiedBy],
    distinctSubs: new Set(claims.map((c) => c.sub)).size,
    firstSub: claims[0]?.sub,
    firstName: claims[0]?.name,
    issuers: unique(claims.map((c) => c.iss)),
    audiences: unique(claims.map((c) => c.aud)),
    rooms: unique(claims.map((c) => c.rooms)),
    ttls: unique(claims.map((c) => c.ttl)),
  };
}

const args = process.argv.slice(2);
const script = args[0] === 'run' ? args.find((a, i) => i > 0 && !a.startsWith('-')) : undefined;
if (args[0] === 'ci' || script === 'loadtest') {
  const tokensAt = args.indexOf('--tokens');
  const tokens = script === 'loadtest' && tokensAt >= 0 ? await describeTokens(args[tokensAt + 1]) : undefined;
  record('npm', { exitCode: 0, ...(tokens ? { tokens } : {}) });
  process.exit(0);
}
const real = spawnSync(process.env.STANDIN_REAL_NPM ?? 'npm', args, { stdio: 'inherit' });
process.exit(real.status ?? 1);
