// The HTTP side: the chat page and its modules, health, readiness, metrics.
import { readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PATHS } from '../constants.js';

export interface HttpState {
  instanceId: string;
  /** Why the instance does not take traffic, or undefined when it is ready. */
  notReadyReason(): string | undefined;
  /** Prometheus text (prom-client renders asynchronously). */
  metrics(): Promise<string>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// The page imports the same protocol modules the server is built from, and
// opens its WebSocket to its own origin only ('self' covers ws:/wss: to the
// same host in CSP Level 3). HSTS: the ALB only serves HTTPS; browsers must
// never try plain HTTP again (two years, the preload list's minimum).
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  type: string;
}

/** Loads the page and the browser modules once, at start. */
export function loadAssets(): Map<string, Asset> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const publicDir = join(here, '..', '..', 'public');
  const protocolDir = join(here, '..', 'protocol');
  const assets = new Map<string, Asset>();
  const add = (path: string, file: string) => assets.set(path, { body: readFileSync(file), type: TYPES[extname(file)] ?? 'application/octet-stream' });
  for (const file of readdirSync(publicDir)) add(`/${file}`, join(publicDir, file));
  for (const file of readdirSync(protocolDir)) if (file.endsWith('.js')) add(`/protocol/${file}`, join(protocolDir, file));
  // The protocol modules import their limits from the one constants module,
  // which re-exports the drain timings from drain.js: both are served.
  for (const file of ['constants.js', 'drain.js']) add(`/${file}`, join(here, '..', file));
  const index = assets.get('/index.html');
  if (index) assets.set(PATHS.page, index);
  return assets;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', `${JSON.stringify(value)}\n`);
}

/** A route that exists only when configured (see extraRoutes); true when it answered the request. */
export type Route = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

export function createRequestHandler(state: HttpState, assets: Map<string, Asset>, routes: Route[] = []) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    for (const route of routes) if (route(req, res, path)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(res, 404, { error: 'not_found' });
    }
    switch (path) {
      case PATHS.health:
        return json(res, 200, { status: 'ok', instance: state.instanceId });
      case PATHS.ready: {
        const reason = state.notReadyReason();
        return reason === undefined
          ? json(res, 200, { status: 'ready', instance: state.instanceId })
          : json(res, 503, { status: 'not_ready', reason, instance: state.instanceId });
      }
      case PATHS.metrics:
        state.metrics().then(
          (text) => send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', text),
          () => json(res, 500, { error: 'metrics_failed' }),
        );
        return;
      default: {
        const asset = assets.get(path);
        if (asset) return send(res, 200, asset.type, asset.body, SECURITY_HEADERS);
        return json(res, 404, { error: 'not_found' });
      }
    }
  };
}
