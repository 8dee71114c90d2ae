// The pure parts of identity: room patterns, the AUTH_* and PUBLISH_API_*
// configuration, and the token clock's phases, driven by a fake clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../service/src/config.js';
import { RoomPatterns } from '../../service/src/auth/roomPatterns.js';
import { TokenClock, type TokenHolder } from '../../service/src/auth/tokenClock.js';
import { TokenVerifier, type Identity } from '../../service/src/auth/verifier.js';
import { MAX_ROOM_PATTERNS } from '../../service/src/constants.js';
import { AUDIENCE, ISSUER, SECRET, hsToken } from './support.js';

const patterns = (...list: string[]) => RoomPatterns.parse(list) as RoomPatterns;

describe('room patterns', () => {
  it('matches `*` against any run of characters, and everything else literally', () => {
    const p = patterns('team-*', 'lobby', '*-ops', 'a*b*c');
    for (const room of ['team-', 'team-red', 'team-a.b', 'lobby', 'x-ops', '-ops', 'abc', 'aXbYc', 'abbbc']) assert.ok(p.permits(room), room);
    for (const room of ['team', 'lobby2', 'xlobby', 'ops', 'ab', 'acb', 'teamred']) assert.ok(!p.permits(room), room);
    assert.ok(patterns('*').permits('anything'));
    assert.ok(!patterns('a.b').permits('aXb'), 'a dot is a dot');
  });

  it('grants nothing when the claim is absent or empty', () => {
    assert.ok(!RoomPatterns.none.permits('lobby'));
    assert.ok(!(RoomPatterns.parse(undefined) as RoomPatterns).permits('lobby'));
    assert.ok(!patterns().permits('lobby'));
  });

  it('refuses claims that are not arrays of patterns', () => {
    for (const claim of ['*', [5], ['a b'], ['x'.repeat(65)], [''], Array(MAX_ROOM_PATTERNS + 1).fill('a'), { 0: 'a' }]) {
      assert.equal(typeof RoomPatterns.parse(claim), 'string', JSON.stringify(claim).slice(0, 40));
    }
  });

  it('stays linear on patterns made to backtrack', () => {
    const p = patterns(`${'*a'.repeat(31)}*`);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) p.permits(`${'a'.repeat(63)}b`);
    // A backtracking matcher takes minutes here; this walk takes milliseconds. Generous bound.
    assert.ok(performance.now() - started < 5000);
  });
});

describe('AUTH_* and PUBLISH_API_* configuration', () => {
  const jwt = { INSTANCE_ID: 'x', AUTH_MODE: 'jwt', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE };

  it('reads the secret mode, the JWKS mode and the publish API', () => {
    assert.deepEqual(loadConfig({ ...jwt, AUTH_JWT_SECRET: SECRET, AUTH_DEV_TOKENS: '1' }).auth, {
      mode: 'jwt',
      key: { kind: 'secret', secret: SECRET },
      issuer: ISSUER,
      audience: AUDIENCE,
      clockSkewSeconds: 30,
      devTokens: true,
    });
    const jwks = loadConfig({ ...jwt, AUTH_JWKS_URL: 'https://issuer.test/.well-known/jwks.json', AUTH_CLOCK_SKEW_SECONDS: '5' }).auth;
    assert.deepEqual(jwks.mode === 'jwt' && [jwks.key, jwks.clockSkewSeconds], [{ kind: 'jwks', url: 'https://issuer.test/.well-known/jwks.json' }, 5]);
    assert.deepEqual(loadConfig({ INSTANCE_ID: 'x', PUBLISH_API_KEY: SECRET, PUBLISH_API_RATE: '7' }).publishApi, { key: SECRET, rate: 7 });
  });

  const bad: Array<[string, Record<string, string>]> = [
    ['AUTH_MODE', { AUTH_MODE: 'oauth' }],
    ['AUTH_JWT_SECRET', { ...jwt }],
    ['AUTH_JWT_SECRET', { ...jwt, AUTH_JWT_SECRET: 'short' }],
    ['AUTH_JWT_SECRET', { ...jwt, AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://issuer.test/jwks' }],
    ['AUTH_JWKS_URL', { ...jwt, AUTH_JWKS_URL: 'http://issuer.test/jwks' }],
    ['AUTH_JWKS_URL', { ...jwt, AUTH_JWKS_URL: 'not a url' }],
    ['AUTH_ISSUER', { ...jwt, AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: '' }],
    ['AUTH_AUDIENCE', { ...jwt, AUTH_JWT_SECRET: SECRET, AUTH_AUDIENCE: ' ' }],
    ['AUTH_CLOCK_SKEW_SECONDS', { ...jwt, AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_SKEW_SECONDS: '3600' }],
    ['AUTH_DEV_TOKENS', { INSTANCE_ID: 'x', AUTH_DEV_TOKENS: '1' }],
    ['AUTH_DEV_TOKENS', { ...jwt, AUTH_JWKS_URL: 'https://issuer.test/jwks', AUTH_DEV_TOKENS: '1' }],
    ['AUTH_DEV_TOKENS', { ...jwt, AUTH_JWT_SECRET: SECRET, AUTH_DEV_TOKENS: 'yes' }],
    ['PUBLISH_API_KEY', { INSTANCE_ID: 'x', PUBLISH_API_KEY: 'short-key' }],
    ['PUBLISH_API_RATE', { INSTANCE_ID: 'x', PUBLISH_API_KEY: SECRET, PUBLISH_API_RATE: '0' }],
  ];
  for (const [variable, env] of bad) {
    it(`refuses ${variable} in ${JSON.stringify(env).slice(0, 90)}`, () => {
      assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && error.variable === variable);
    });
  }

  it('never prints a secret in the error', () => {
    assert.throws(() => loadConfig({ ...jwt, AUTH_JWT_SECRET: 'hunter2-short' }), (error: Error) => !error.message.includes('hunter2'));
    assert.throws(() => loadConfig({ INSTANCE_ID: 'x', PUBLISH_API_KEY: 'hunter2 with a space in it, long enough' }), (error: Error) => !error.message.includes('hunter2'));
  });
});

describe('token clock', () => {
  class Holder implements TokenHolder {
    open = true;
    sent: string[] = [];
    closed: Array<[number, string]> = [];
    sendText(text: string) {
      this.sent.push(text);
    }
    close(code: number, reason: string) {
      this.closed.push([code, reason]);
      this.open = false;
    }
  }
  const verifierWithSkew = (clockSkewSeconds: number) =>
    new TokenVerifier({ mode: 'jwt', key: { kind: 'secret', secret: SECRET }, issuer: ISSUER, audience: AUDIENCE, clockSkewSeconds, devTokens: false });
  const identity = (user: string, expiresAt: number): Identity => ({ user, name: user, rooms: RoomPatterns.none, expiresAt });

  it('asks at the lead time before exp, closes with 4001 at exp plus skew, and forgets closed connections', () => {
    let now = 1_000_000_000;
    const clock = new TokenClock<Holder>(verifierWithSkew(2), () => now);
    const holder = new Holder();
    const gone = new Holder();
    clock.admit(holder, identity('a', now + 600_000));
    clock.admit(gone, identity('b', now + 600_000));
    clock.forget(gone);
    now += 540_000; // 60 s before exp + skew is 542 s
    clock.tick();
    assert.deepEqual(holder.sent, []);
    now += 2000;
    clock.tick();
    assert.deepEqual(holder.sent, [`{"type":"token_expiring","closesAt":${1_000_000_000 + 602_000}}`]);
    now += 59_000;
    clock.tick();
    assert.deepEqual(holder.closed, []);
    now += 1000;
    clock.tick();
    assert.deepEqual(holder.closed, [[4001, 'token expired']]);
    assert.equal(clock.identity(holder), undefined);
    assert.deepEqual(gone.sent, [], 'a forgotten connection is never asked');
  });

  it('asks halfway through a token shorter than twice the lead time', () => {
    let now = 5_000_000;
    const clock = new TokenClock<Holder>(verifierWithSkew(0), () => now);
    const holder = new Holder();
    clock.admit(holder, identity('a', now + 10_000));
    now += 4000;
    clock.tick();
    assert.equal(holder.sent.length, 0);
    now += 1000;
    clock.tick();
    assert.equal(holder.sent.length, 1);
  });

  it('starts over with a refresh for the same user and refuses another user', async () => {
    const clock = new TokenClock<Holder>(verifierWithSkew(0));
    const holder = new Holder();
    clock.admit(holder, identity('u-ann', Date.now() + 5000));
    const other = await clock.refresh(holder, await hsToken({ sub: 'u-bob' }), 'r');
    assert.deepEqual(other.ok ? 'ok' : other.code, 'forbidden');
    const same = await clock.refresh(holder, await hsToken({ sub: 'u-ann', name: 'Ann B' }), 'r');
    assert.ok(same.ok && same.frame.includes('"type":"refreshed"') && same.frame.includes('"ref":"r"'));
    assert.equal(clock.identity(holder)?.name, 'Ann B');
  });
});
