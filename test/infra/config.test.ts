// A missing or bad environment value must fail synth with a message that names
// it. buildApp is what main.ts runs; it validates before creating constructs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { environments } from '../../config/environments.js';
import { ConfigError, validateEnvironments } from '../../config/validate.js';
import { buildApp } from '../../stacks/app.js';

const dev = environments.dev;

/** Deep copy of dev with one change, as plain data (the validator sees what a hand edit would produce). */
function devWith(change: (env: Record<string, any>) => void): Record<string, unknown> {
  const copy = structuredClone(dev) as Record<string, any>;
  change(copy);
  return { dev: copy };
}

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    buildApp({ environments: raw });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return [...error.problems];
  }
  assert.fail('configuration was accepted');
}

describe('environment validation', () => {
  test('the committed environments are valid', () => {
    assert.deepEqual(validateEnvironments(environments).map((e) => e.name), Object.keys(environments));
  });

  test('the WAF section is optional, and its limit may go down to the AWS minimum of 10', () => {
    assert.doesNotThrow(() => validateEnvironments(devWith((e) => delete e.waf)));
    assert.doesNotThrow(() => validateEnvironments(devWith((e) => (e.waf = { rateLimitPer5Minutes: 10 }))));
    assert.doesNotThrow(() => validateEnvironments(devWith((e) => (e.waf = { enabled: false }))));
  });

  const cases: Array<[string, (env: Record<string, any>) => void, RegExp]> = [
    ['missing hosted zone', (e) => delete e.dns.hostedZoneName, /^dev\.dns\.hostedZoneName: is missing$/],
    ['domain outside the zone', (e) => (e.dns.domainName = 'chat.example.org'), /^dev\.dns\.domainName: must lie inside the hosted zone example\.com/],
    ['bad NAT mode', (e) => (e.network.natMode = 'two'), /^dev\.network\.natMode: must be one of none, single, per-az, got "two"$/],
    ['one AZ only', (e) => (e.network.availabilityZones = ['eu-west-1a']), /^dev\.network\.availabilityZones: must list 2 to 6 distinct zones/],
    ['AZ of another region', (e) => (e.network.availabilityZones = ['eu-west-1a', 'us-east-1b']), /^dev\.network\.availabilityZones: "us-east-1b" is not a zone of region eu-west-1$/],
    ['bad CIDR', (e) => (e.network.cidr = '10.0.0.0/8'), /^dev\.network\.cidr: must be an IPv4 CIDR with a prefix from \/16 to \/24/],
    ['idle timeout not above the ping interval', (e) => (e.loadBalancer.idleTimeoutSeconds = 20), /^dev\.loadBalancer\.idleTimeoutSeconds: must exceed the service's ping interval \(25 s\), got 20$/],
    ['negative replicas', (e) => (e.cache.replicas = -1), /^dev\.cache\.replicas: must be an integer from 0 to 5, got -1$/],
    ['Redis older than 7', (e) => ((e.cache.engine = 'redis'), (e.cache.engineVersion = '6.2')), /^dev\.cache\.engineVersion: redis 6\.2 is too old/],
    ['desired outside min..max', (e) => (e.compute.desiredCapacity = 9), /^dev\.compute\.desiredCapacity: must lie between minSize \(2\) and maxSize \(4\), got 9$/],
    ['bad AMI id', (e) => (e.ami.amiId = 'ubuntu'), /^dev\.ami\.amiId: must be a pinned AMI id/],
    ['AMI left to a newest-image lookup', (e) => (e.ami.amiId = null), /^dev\.ami\.amiId: is missing$/],
    ['local state without saying sandbox', (e) => (e.state = { backend: 'local' }), /^dev\.state\.backend: local state is lost with the CI runner/],
    ['a protected local sandbox', (e) => ((e.state = { backend: 'local', sandbox: true }), (e.protect = true)), /^dev\.protect: a protected environment needs remote state$/],
    ['protected without ALB deletion protection', (e) => (e.protect = true), /^dev\.loadBalancer\.deletionProtection: must be true in a protected environment$/],
    ['protect left out', (e) => delete e.protect, /^dev\.protect: is missing$/],
    ['state key without .tfstate', (e) => (e.state.key = 'chat-dev/state'), /^dev\.state\.key: must be an object key ending in \.tfstate/],
    ['reserved service variable', (e) => (e.compute.serviceEnv = { REDIS_URL: 'redis://x' }), /^dev\.compute\.serviceEnv\.REDIS_URL: is set by the stack itself/],
    ['shell metacharacters in a service variable', (e) => (e.compute.serviceEnv = { ALLOWED_ORIGINS: '$(reboot)' }), /^dev\.compute\.serviceEnv\.ALLOWED_ORIGINS: must be a one-line string/],
    ['S3 backend without bucket', (e) => (e.state = { backend: 's3', key: 'k', region: 'eu-west-1' }), /^dev\.state\.bucket: is missing$/],
    ['unsupported log retention', (e) => (e.observability.logRetentionDays = 10), /^dev\.observability\.logRetentionDays: must be one of 1, 3, 5/],
    ['name differs from its key', (e) => (e.name = 'other'), /^dev\.name: must equal its key "dev", got "other"$/],
    ['WAF rate limit under the AWS minimum', (e) => (e.waf.rateLimitPer5Minutes = 5), /^dev\.waf\.rateLimitPer5Minutes: must be an integer from 10 to 2000000000, got 5$/],
    ['WAF rate limit not a whole number', (e) => (e.waf.rateLimitPer5Minutes = '2000'), /^dev\.waf\.rateLimitPer5Minutes: must be an integer from 10 to 2000000000, got "2000"$/],
    ['WAF managed rules mode unknown', (e) => (e.waf.managedRules = 'log'), /^dev\.waf\.managedRules: must be one of block, count, got "log"$/],
    ['WAF switch not a boolean', (e) => (e.waf.enabled = 'no'), /^dev\.waf\.enabled: must be true or false, got "no"$/],
    ['misspelt WAF setting', (e) => (e.waf.rateLimit = 100), /^dev\.waf\.rateLimit: is not a WAF setting \(enabled, rateLimitPer5Minutes, managedRules\)$/],
  ];
  for (const [what, change, expected] of cases) {
    test(`${what} fails with a message naming the value`, () => {
      const problems = problemsOf(devWith(change));
      assert.ok(problems.some((p) => expected.test(p)), `no problem matched ${expected}:\n${problems.join('\n')}`);
    });
  }

  test('an explicit local sandbox is accepted', () => {
    assert.doesNotThrow(() => validateEnvironments(devWith((e) => (e.state = { backend: 'local', sandbox: true }))));
  });

  test('two environments cannot share one state object', () => {
    const problems = problemsOf({ ...devWith(() => undefined), prod: { ...environments.prod, state: environments.dev.state } });
    assert.ok(problems.some((p) => /^prod\.state\.key: s3:\/\/[\w.-]+\/chat-dev\/terraform\.tfstate is already the state of dev$/.test(p)), problems.join('\n'));
  });

  test('the committed environments keep remote state, one key each, and pin their AMI', () => {
    for (const env of Object.values(environments)) {
      assert.equal(env.state.backend, 's3', env.name);
      assert.equal(env.state.backend === 's3' && env.state.key, `chat-${env.name}/terraform.tfstate`);
      assert.match(env.ami.amiId, /^ami-[0-9a-f]+$/);
    }
    assert.equal(environments.prod.protect, true);
  });

  test('every problem of every environment is reported at once', () => {
    const broken = devWith((e) => {
      e.cache.replicas = 9;
      delete e.region;
    });
    const problems = problemsOf({ ...broken, prod: { ...environments.prod, loadBalancer: { ...environments.prod.loadBalancer, stickiness: 'yes' } } });
    assert.ok(problems.some((p) => p.startsWith('dev.cache.replicas:')));
    assert.ok(problems.some((p) => p.startsWith('dev.region: is missing')));
    assert.ok(problems.some((p) => p.startsWith('prod.loadBalancer.stickiness:')));
  });
});

describe('npm run synth', () => {
  test('main.ts synthesizes offline without terraform, one stack per environment and the foundation', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'chat-main-'));
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
        cwd: new URL('../../', import.meta.url),
        // No terraform or tofu on PATH: synth must not need them.
        env: { ...process.env, CDKTF_OUTDIR: outdir, PATH: '/nonexistent' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(result.status, 0, result.stderr);
      const listing = spawnSync('/bin/ls', [join(outdir, 'stacks')], { encoding: 'utf8' }).stdout.trim().split('\n');
      assert.deepEqual(listing.sort(), [...Object.keys(environments).map((n) => `chat-${n}`), 'chat-foundation'].sort());
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
