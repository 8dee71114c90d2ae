// The service is configured by environment variables only. Every value is
// checked at start; a bad one stops the process with one line that names the
// variable and what it accepts.
import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';
import { availableParallelism } from 'node:os';
import {
  CLOCK_SKEW_SECONDS,
  CONFIG_LIMITS as L,
  DEFAULT_DRAIN_SECONDS,
  DEFAULT_PORT,
  MIN_SECRET_CHARS,
  PING_INTERVAL_MS,
  PUBLISH_API_RATE,
} from './constants.js';
import type { AuthConfig } from './auth/verifier.js';
import type { IamAuthSettings } from './bus/redisCredentials.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  port: number;
  host: string;
  /** Undefined: the in-process bus, for one instance only. */
  redisUrl: string | undefined;
  /** single: one Redis (or a primary endpoint); cluster: a Redis Cluster, REDIS_URL its seed nodes. */
  redisMode: RedisMode;
  /** REDIS_AUTH=iam: ElastiCache IAM authentication, no password anywhere (bus/redisCredentials.ts). */
  redisIamAuth: IamAuthSettings | undefined;
  instanceId: string;
  historyLimit: number;
  joinHistory: number;
  maxTextBytes: number;
  maxRoomsPerConnection: number;
  /** Sends per second per connection; the bucket holds twice as many. */
  rateLimit: number;
  /** Empty: any origin. */
  allowedOrigins: string[];
  drainSeconds: number;
  workers: number;
  logLevel: LogLevel;
  pingIntervalMs: number;
  /** A client whose unsent bytes pass this is closed with 1013. */
  maxBufferedBytes: number;
  /** Open WebSocket connections on this instance, and per client address; past either, 4029. */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Peers whose X-Forwarded-For is believed (the load balancer); empty: nobody's. */
  trustedProxies: BlockList;
  /** The CIDRs of trustedProxies as given, for logs. */
  trustedProxyList: string[];
  /** History and its metadata expire this long after a room's last message; 0: never. */
  historyTtlMs: number;
  /** AUTH_MODE and the AUTH_* variables. */
  auth: AuthConfig;
  /** PUBLISH_API_KEY and PUBLISH_API_RATE; undefined: no publish API. */
  publishApi: { key: string; rate: number } | undefined;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, expected: string, got: string) {
    super(`${variable} must be ${expected} (got ${JSON.stringify(got)})`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.trim());
  if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  }
  return value;
}

function positiveNumber(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new ConfigError(name, `a number greater than 0 and at most ${max}`, raw);
  }
  return value;
}

export const REDIS_MODES = ['single', 'cluster'] as const;
export type RedisMode = (typeof REDIS_MODES)[number];

function redisMode(env: Env): RedisMode {
  const raw = (env.REDIS_MODE ?? '').trim() || 'single';
  if (!(REDIS_MODES as readonly string[]).includes(raw)) throw new ConfigError('REDIS_MODE', `one of ${REDIS_MODES.join(', ')}`, raw);
  return raw as RedisMode;
}

/** One URL, or in cluster mode one or more seed nodes separated by commas, all redis:// or all rediss://. */
function redisUrl(env: Env, mode: RedisMode): string | undefined {
  const raw = env.REDIS_URL;
  if (raw === undefined || raw === '') return undefined;
  const expected =
    mode === 'cluster'
      ? 'one or more redis:// or rediss:// seed URLs separated by commas, such as rediss://:token@host:6379 (REDIS_MODE=cluster)'
      : 'a redis:// or rediss:// URL such as rediss://:token@host:6379';
  const parts = mode === 'cluster' ? raw.split(',').map((part) => part.trim()) : [raw];
  const schemes = new Set<string>();
  for (const part of parts) {
    let url: URL | undefined;
    try {
      url = new URL(part);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') throw new ConfigError('REDIS_URL', expected, redact(raw));
    schemes.add(url.protocol);
  }
  if (schemes.size > 1) throw new ConfigError('REDIS_URL', `${expected}, not a mix of both`, redact(raw));
  return raw;
}

/** REDIS_AUTH=iam with REDIS_IAM_USER, REDIS_IAM_CACHE and AWS_REGION; unset or `password`: the URL's own. */
function redisIamAuth(env: Env): IamAuthSettings | undefined {
  const mode = env.REDIS_AUTH ?? '';
  if (mode === '' || mode === 'password') return undefined;
  if (mode !== 'iam') throw new ConfigError('REDIS_AUTH', 'password (the default) or iam', mode);
  const required = (name: string, pattern: RegExp, expected: string): string => {
    const value = env[name] ?? '';
    if (!pattern.test(value)) throw new ConfigError(name, `${expected} when REDIS_AUTH=iam`, value);
    return value;
  };
  // IAM authentication needs TLS; the password is the token, never part of the URL.
  required('REDIS_URL', /^rediss:\/\/([^:@/]+@)?[^:@/]+(:\d+)?\/?$/, 'a rediss:// URL without a password');
  return {
    user: required('REDIS_IAM_USER', /^[A-Za-z][A-Za-z0-9-]{0,39}$/, 'the ElastiCache user id'),
    cacheName: required('REDIS_IAM_CACHE', /^[a-z][a-z0-9-]{0,39}$/, 'the replication group id'),
    region: required('AWS_REGION', /^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region'),
  };
}

/** Never echo a password into logs. */
function redact(raw: string): string {
  return raw.replace(/\/\/([^@/,]*)@/g, '//***@');
}

function origins(env: Env): string[] {
  const raw = env.ALLOWED_ORIGINS ?? '';
  const list = raw.split(',').map((item) => item.trim()).filter(Boolean);
  for (const origin of list) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin.replace(/\/$/, '') || !/^https?:$/.test(parsed.protocol)) {
      throw new ConfigError('ALLOWED_ORIGINS', 'a comma-separated list of origins such as https://chat.example.com', raw);
    }
  }
  return list.map((origin) => origin.replace(/\/$/, ''));
}

function workers(env: Env): number {
  const raw = env.WORKERS;
  if (raw === undefined || raw === '') return 1;
  if (raw.trim() === 'auto') return availableParallelism();
  return integer(env, 'WORKERS', 1, L.workers.min, L.workers.max);
}

/** TRUSTED_PROXIES: comma-separated addresses or CIDRs (10.0.0.0/16, ::1/128). */
function trustedProxies(env: Env): { list: string[]; blocks: BlockList } {
  const raw = env.TRUSTED_PROXIES ?? '';
  const list = raw.split(',').map((item) => item.trim()).filter(Boolean);
  const blocks = new BlockList();
  for (const item of list) {
    const [address, bits, extra] = item.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? maxBits : Number(bits);
    if (family === 0 || extra !== undefined || (bits !== undefined && !/^\d{1,3}$/.test(bits)) || prefix > maxBits) {
      throw new ConfigError('TRUSTED_PROXIES', 'a comma-separated list of addresses or CIDRs such as 10.0.0.0/16', raw);
    }
    blocks.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { list, blocks };
}

function secret(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < MIN_SECRET_CHARS || /\s/.test(raw)) {
    // The value is a secret: say only how long it is.
    throw new ConfigError(name, `at least ${MIN_SECRET_CHARS} characters without spaces (openssl rand -base64 32)`, `<${raw.length} characters>`);
  }
  return raw;
}

function required(env: Env, name: string, why: string): string {
  const raw = (env[name] ?? '').trim();
  if (raw === '') throw new ConfigError(name, `set ${why}`, env[name] ?? '');
  return raw;
}

function jwksUrl(raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  // Keys fetched over plain HTTP could be swapped on the way; only loopback (tests, a local issuer) may use it.
  const loopback = url !== undefined && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) {
    throw new ConfigError('AUTH_JWKS_URL', 'an https:// URL of a JSON Web Key Set (http:// only on loopback)', raw);
  }
  return raw;
}

function auth(env: Env): AuthConfig {
  const mode = (env.AUTH_MODE ?? 'none').trim() || 'none';
  if (mode !== 'none' && mode !== 'jwt') throw new ConfigError('AUTH_MODE', 'none or jwt', mode);
  const devTokens = (env.AUTH_DEV_TOKENS ?? '').trim();
  if (devTokens !== '' && devTokens !== '0' && devTokens !== '1') throw new ConfigError('AUTH_DEV_TOKENS', '0 or 1', devTokens);
  if (mode === 'none') {
    if (devTokens === '1') throw new ConfigError('AUTH_DEV_TOKENS', '0 unless AUTH_MODE=jwt', devTokens);
    return { mode };
  }
  const jwtSecret = secret(env, 'AUTH_JWT_SECRET');
  const jwks = (env.AUTH_JWKS_URL ?? '').trim();
  if ((jwtSecret === undefined) === (jwks === '')) {
    throw new ConfigError('AUTH_JWT_SECRET', 'set, or AUTH_JWKS_URL set, but not both, when AUTH_MODE=jwt', jwtSecret === undefined ? '' : '<set>');
  }
  if (devTokens === '1' && jwtSecret === undefined) throw new ConfigError('AUTH_DEV_TOKENS', '0 unless AUTH_JWT_SECRET is set', devTokens);
  return {
    mode,
    key: jwtSecret !== undefined ? { kind: 'secret', secret: jwtSecret } : { kind: 'jwks', url: jwksUrl(jwks) },
    issuer: required(env, 'AUTH_ISSUER', 'to the issuer (iss) of the tokens when AUTH_MODE=jwt'),
    audience: required(env, 'AUTH_AUDIENCE', 'to the audience (aud) the tokens are for when AUTH_MODE=jwt'),
    clockSkewSeconds: integer(env, 'AUTH_CLOCK_SKEW_SECONDS', CLOCK_SKEW_SECONDS.fallback, CLOCK_SKEW_SECONDS.min, CLOCK_SKEW_SECONDS.max),
    devTokens: devTokens === '1',
  };
}

function publishApi(env: Env): Config['publishApi'] {
  const key = secret(env, 'PUBLISH_API_KEY');
  if (key === undefined) return undefined;
  return { key, rate: positiveNumber(env, 'PUBLISH_API_RATE', PUBLISH_API_RATE.fallback, PUBLISH_API_RATE.max) };
}

const INSTANCE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export function loadConfig(env: Env = process.env): Config {
  const instanceId = env.INSTANCE_ID && env.INSTANCE_ID !== '' ? env.INSTANCE_ID : `${hostname()}-${process.pid}`;
  if (!INSTANCE_ID.test(instanceId)) {
    throw new ConfigError('INSTANCE_ID', '1 to 64 of A-Z a-z 0-9 _ . : -', instanceId);
  }
  const historyLimit = integer(env, 'HISTORY_LIMIT', L.historyLimit.fallback, L.historyLimit.min, L.historyLimit.max);
  const logLevel = (env.LOG_LEVEL ?? 'info').trim() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`, logLevel);
  }
  const proxies = trustedProxies(env);
  const host = env.HOST ?? '0.0.0.0';
  if (host.trim() === '') throw new ConfigError('HOST', 'an address to listen on, such as 0.0.0.0', host);
  return {
    port: integer(env, 'PORT', DEFAULT_PORT, 0, 65535),
    host,
    redisUrl: redisUrl(env, redisMode(env)),
    redisMode: redisMode(env),
    redisIamAuth: redisIamAuth(env),
    instanceId,
    historyLimit,
    joinHistory: integer(env, 'JOIN_HISTORY', Math.min(L.joinHistory.fallback, historyLimit), L.joinHistory.min, historyLimit),
    maxTextBytes: integer(env, 'MAX_TEXT_BYTES', L.maxTextBytes.fallback, L.maxTextBytes.min, L.maxTextBytes.max),
    maxRoomsPerConnection: integer(env, 'MAX_ROOMS_PER_CONNECTION', L.maxRoomsPerConnection.fallback, L.maxRoomsPerConnection.min, L.maxRoomsPerConnection.max),
    rateLimit: positiveNumber(env, 'RATE_LIMIT', L.rateLimit.fallback, L.rateLimit.max),
    allowedOrigins: origins(env),
    drainSeconds: integer(env, 'DRAIN_SECONDS', DEFAULT_DRAIN_SECONDS, L.drainSeconds.min, L.drainSeconds.max),
    workers: workers(env),
    logLevel: logLevel as LogLevel,
    pingIntervalMs: integer(env, 'PING_INTERVAL_MS', PING_INTERVAL_MS, L.pingIntervalMs.min, L.pingIntervalMs.max),
    maxBufferedBytes: integer(env, 'MAX_BUFFERED_BYTES', L.maxBufferedBytes.fallback, L.maxBufferedBytes.min, L.maxBufferedBytes.max),
    maxConnections: integer(env, 'MAX_CONNECTIONS', L.maxConnections.fallback, L.maxConnections.min, L.maxConnections.max),
    maxConnectionsPerAddress: integer(env, 'MAX_CONNECTIONS_PER_ADDRESS', L.maxConnectionsPerAddress.fallback, L.maxConnectionsPerAddress.min, L.maxConnectionsPerAddress.max),
    trustedProxies: proxies.blocks,
    trustedProxyList: proxies.list,
    historyTtlMs: integer(env, 'HISTORY_TTL', L.historyTtlSeconds.fallback, L.historyTtlSeconds.min, L.historyTtlSeconds.max) * 1000,
    auth: auth(env),
    publishApi: publishApi(env),
  };
}
