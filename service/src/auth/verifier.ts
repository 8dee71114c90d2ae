// Connection tokens: a JWT checked with jose, either HS256 against a shared
// secret or an asymmetric algorithm against keys from a JWKS URL (fetched on
// first use, cached, fetched again when a token names a key id it does not
// know: that is how the issuer rotates keys). The algorithm list is fixed per
// mode, so an HS256 token can never be checked against a public key, and
// `alg: none` is never accepted.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import {
  JWKS_CACHE_MAX_AGE_MS,
  JWKS_COOLDOWN_MS,
  JWKS_TIMEOUT_MS,
  TOKEN_MAX_CHARS,
} from '../constants.js';
import { checkName } from '../protocol/parse.js';
import { RoomPatterns } from './roomPatterns.js';

export interface JwtAuthConfig {
  mode: 'jwt';
  /** AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL (asymmetric keys): exactly one. */
  key: { kind: 'secret'; secret: string } | { kind: 'jwks'; url: string };
  issuer: string;
  audience: string;
  clockSkewSeconds: number;
  /** The local-only development token endpoint (secret mode only; the stacks never set it). */
  devTokens: boolean;
}
export type AuthConfig = { mode: 'none' } | JwtAuthConfig;

/** Who a connection is, from its token. */
export interface Identity {
  /** `sub`: the user id. */
  readonly user: string;
  /** `name`: the display name on every message and in presence. */
  readonly name: string;
  readonly rooms: RoomPatterns;
  /** `exp`, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** A token that is not accepted; the message says why, for the 401 body or the error frame. */
export class TokenError extends Error {
  /** 401 for a token that is refused; 503 when the key set cannot be fetched (the token may be fine). */
  constructor(message: string, readonly status: 401 | 503 = 401) {
    super(message);
    this.name = 'TokenError';
  }
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

const KEYS_UNAVAILABLE = 'the key set could not be fetched; retry shortly';

function explain(error: unknown): TokenError {
  if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout) && !(error instanceof errors.JWKSInvalid)) {
    return new TokenError(reasonOf(error));
  }
  return new TokenError(KEYS_UNAVAILABLE, 503);
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid';
    if (error.claim === 'iss') return 'token has the wrong issuer';
    if (error.claim === 'aud') return 'token has the wrong audience';
    return `token claim "${error.claim}" is missing or invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token key id is not in the key set';
  return 'token is malformed';
}

/** The identity a verified payload describes, or the claim it lacks. */
export function identityOf(payload: JWTPayload): Identity {
  if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 256) {
    throw new TokenError('token claim "sub" is missing or not a user id of 1 to 256 characters');
  }
  const nameError = checkName(payload.name);
  if (nameError) throw new TokenError(`token claim "name" is missing or invalid: ${nameError}`);
  const rooms = RoomPatterns.parse(payload.rooms);
  if (typeof rooms === 'string') throw new TokenError(`token ${rooms}`);
  return { user: payload.sub, name: payload.name as string, rooms, expiresAt: (payload.exp as number) * 1000 };
}

export class TokenVerifier {
  private readonly key: Promise<CryptoKey> | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly config: JwtAuthConfig) {
    if (config.key.kind === 'secret') {
      // Imported once: given the raw bytes, jose imports the key again for every
      // token, a WebCrypto job that doubled what verifying a connection cost
      // (the connection storm in docs/performance.md).
      this.key = crypto.subtle.importKey('raw', new TextEncoder().encode(config.key.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      this.algorithms = ['HS256'];
    } else {
      this.key = createRemoteJWKSet(new URL(config.key.url), {
        timeoutDuration: JWKS_TIMEOUT_MS,
        cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
        cooldownDuration: JWKS_COOLDOWN_MS,
      });
      this.algorithms = ASYMMETRIC;
    }
  }

  /** exp and nbf are accepted this far off; a connection closes this long after exp. */
  get clockSkewSeconds(): number {
    return this.config.clockSkewSeconds;
  }

  /** The token's identity; a TokenError saying why it is refused otherwise. */
  async verify(token: string | null | undefined): Promise<Identity> {
    if (token === undefined || token === null || token === '') throw new TokenError('a token is required: add ?token=<JWT> to the URL');
    if (token.length > TOKEN_MAX_CHARS) throw new TokenError(`token is longer than ${TOKEN_MAX_CHARS} characters`);
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: this.algorithms,
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: this.config.clockSkewSeconds,
        requiredClaims: ['exp', 'sub'],
      };
      // Two calls rather than one on a union: jwtVerify's overloads are per key type.
      ({ payload } =
        this.key instanceof Promise ? await jwtVerify(token, await this.key, options) : await jwtVerify(token, this.key, options));
    } catch (error) {
      throw explain(error);
    }
    return identityOf(payload);
  }
}
