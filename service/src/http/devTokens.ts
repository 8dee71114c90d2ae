// The local development token endpoint: GET /dev/token?name=Ann[&sub=id]
// answers a token that may use every room, for user `sub` (a new one when
// absent; a tab passes its own to refresh), signed with AUTH_JWT_SECRET, so the
// page works with AUTH_MODE=jwt on `npm run local -- --auth jwt`. Enabled only
// by AUTH_DEV_TOKENS=1 (the stacks never set it), and answered only to
// loopback peers (the local HAProxy), never to the network.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { signDevToken } from '../auth/devToken.js';
import { AUTH_PATHS, DEV_TOKEN_TTL_SECONDS } from '../constants.js';
import { checkName } from '../protocol/parse.js';
import type { JwtAuthConfig } from '../auth/verifier.js';
import type { Route } from './routes.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const SUB = /^[A-Za-z0-9_-]{1,64}$/;

function answer(res: ServerResponse, status: number, value: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(value)}\n`);
}

export function devTokenRoute(config: JwtAuthConfig & { key: { kind: 'secret' } }): Route {
  const signer = { secret: config.key.secret, issuer: config.issuer, audience: config.audience };
  return (req, res, path) => {
    if (path !== AUTH_PATHS.devToken) return false;
    if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
      answer(res, 403, { error: 'forbidden', message: 'development tokens are for loopback clients only' });
      return true;
    }
    const query = new URL(req.url ?? '', 'http://local').searchParams;
    const name = query.get('name') ?? 'guest';
    const sub = query.get('sub') ?? randomUUID();
    const error = checkName(name) ?? (SUB.test(sub) ? undefined : 'sub must be 1 to 64 of A-Z a-z 0-9 _ -');
    if (error) {
      answer(res, 400, { error: 'bad_request', message: error });
      return true;
    }
    signDevToken(signer, sub, name, DEV_TOKEN_TTL_SECONDS).then(
      (token) => answer(res, 200, { token }),
      () => answer(res, 500, { error: 'internal', message: 'could not sign a token' }),
    );
    return true;
  };
}
