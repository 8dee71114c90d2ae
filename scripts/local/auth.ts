// AUTH_MODE=jwt for the local cluster and the tools that drive it (k6, the
// fault harness, the benchmark): a secret made per run, the environment that
// turns it on in every instance (with the development token endpoint, for the
// page), and tokens signed the way an issuer would sign them.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { signDevToken } from '../../service/src/auth/devToken.js';

export type AuthMode = 'none' | 'jwt';

export interface LocalAuth {
  secret: string;
  issuer: string;
  audience: string;
}

export const LOCAL_ISSUER = 'chat-local';
export const LOCAL_AUDIENCE = 'chat';

export function localAuth(): LocalAuth {
  return { secret: randomBytes(32).toString('base64url'), issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE };
}

/** The instance environment of AUTH_MODE=jwt with this secret, the development endpoint included. */
export function localAuthEnv(auth: LocalAuth): Record<string, string> {
  return {
    AUTH_MODE: 'jwt',
    AUTH_JWT_SECRET: auth.secret,
    AUTH_ISSUER: auth.issuer,
    AUTH_AUDIENCE: auth.audience,
    AUTH_DEV_TOKENS: '1',
  };
}

/** A token for user `sub` that may use every room, valid for `ttlSeconds`. */
export function mintToken(auth: LocalAuth, sub: string, name: string, ttlSeconds = 3600): Promise<string> {
  return signDevToken(auth, sub, name, ttlSeconds);
}

/** The WebSocket URL with the token as its `token` query parameter (the URL as given without one). */
export function tokenUrl(url: string, token: string | undefined): string {
  return token === undefined ? url : `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

/** The long-lived token the tools (fault harness, benchmark) connect with: one tools user, every room. */
export function toolToken(auth: LocalAuth | undefined): Promise<string | undefined> {
  return auth === undefined ? Promise.resolve(undefined) : mintToken(auth, 'tools', 'tools', 24 * 3600);
}

/** Writes tokens one a line into a new file, created 0600 (tokens are credentials; an existing file is refused, so none with a looser mode ends up holding them). */
export function writeTokenFile(file: string, tokens: string[]): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, tokens.map((t) => `${t}\n`).join(''));
  } finally {
    closeSync(fd);
  }
}
