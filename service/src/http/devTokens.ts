// The local development token endpoint: GET /dev/token?name=Ann answers a token
// for a new user that may use every room, signed with AUTH_JWT_SECRET, so the
// page works with AUTH_MODE=jwt on `npm run local -- --auth jwt`. Enabled only
// by AUTH_DEV_TOKENS=1 (the stacks never set it), and answered only to
// loopback peers (the local HAProxy), never to the network.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SignJWT } from 'jose';
import { AUTH_PATHS, DEV_TOKEN_TTL_SECONDS } from '../defaults.js';
import { checkName } from '../protocol/parse.js';
import type { JwtAuthConfig } from '../auth/verifier.js';
import type { Route } from './routes.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function answer(res: ServerResponse, status: number, value: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(value)}\n`);
}

export function devTokenRoute(config: JwtAuthConfig & { key: { kind: 'secret' } }): Route {
  const secret = new TextEncoder().encode(config.key.secret);
  return (req, res, path) => {
    if (path !== AUTH_PATHS.devToken) return false;
    if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
      answer(res, 403, { error: 'forbidden', message: 'development tokens are for loopback clients only' });
      return true;
    }
    const name = new URL(req.url ?? '', 'http://local').searchParams.get('name') ?? 'guest';
    const nameError = checkName(name);
    if (nameError) {
      answer(res, 400, { error: 'bad_request', message: nameError });
      return true;
    }
    new SignJWT({ name, rooms: ['*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(randomUUID())
      .setIssuer(config.issuer)
      .setAudience(config.audience)
      .setIssuedAt()
      .setExpirationTime(`${DEV_TOKEN_TTL_SECONDS}s`)
      .sign(secret)
      .then(
        (token) => answer(res, 200, { token }),
        () => answer(res, 500, { error: 'internal', message: 'could not sign a token' }),
      );
    return true;
  };
}
