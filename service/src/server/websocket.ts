// Accepting WebSocket connections: the path, the origin, drain, the hard frame
// limit, and the ping that finds dead peers.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { BlockList } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { clientAddress } from './clientAddress.js';
import { HARD_FRAME_LIMIT_BYTES, PATHS } from '../constants.js';

export interface UpgradePolicy<T> {
  allowedOrigins: string[];
  /** Upgrades are refused with 503 while this returns a reason. */
  refuseReason(): string | undefined;
  /** Peers whose X-Forwarded-For names the client; none when not given. */
  trustedProxies?: BlockList;
  /** AUTH_MODE=jwt: who the request is; a rejection (with a status, 401 if none) refuses the upgrade. */
  authenticate?(request: IncomingMessage): Promise<T>;
}

// A module-level listener, not a closure in the upgrade handler: a closure there
// would keep the handler's whole scope, the upgrade request and its headers
// included, alive for as long as the socket lives (about 1 KB per connection).
function destroyOnError(this: Duplex): void {
  this.destroy();
}

function refuse(socket: Duplex, status: number, text: string, body = ''): void {
  const length = Buffer.byteLength(body);
  const type = length > 0 ? 'content-type: text/plain; charset=utf-8\r\n' : '';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\n${type}content-length: ${length}\r\n\r\n${body}`);
}

function refuseUnauthenticated(socket: Duplex, error: { status?: number; message?: string }): void {
  if (error.status === 503) return refuse(socket, 503, 'Service Unavailable', `${error.message}\n`);
  refuse(socket, 401, 'Unauthorized', `${error.message ?? 'unauthorized'}\n`);
}

export function attachWebSocketServer<T>(
  server: Server,
  policy: UpgradePolicy<T>,
  onConnection: (ws: WebSocket, address: string, identity?: T) => void,
): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: HARD_FRAME_LIMIT_BYTES, // larger frames close the connection with 1009
    perMessageDeflate: false, // the frame writer relies on uncompressed frames
    skipUTF8Validation: true, // checked per frame, so that bad bytes get an error frame
    clientTracking: false,
  });
  const trusted = policy.trustedProxies ?? new BlockList();
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroyOnError);
    const path = (request.url ?? '').split('?', 1)[0];
    if (path !== PATHS.websocket) return refuse(socket, 404, 'Not Found');
    if (policy.refuseReason() !== undefined) return refuse(socket, 503, 'Service Unavailable');
    // Browsers always send Origin; a cross-site page is what the list keeps out.
    // Clients that are not browsers (k6, services) send none and are let in.
    const origin = request.headers.origin;
    if (policy.allowedOrigins.length > 0 && origin !== undefined && !policy.allowedOrigins.includes(origin)) {
      return refuse(socket, 403, 'Forbidden');
    }
    const address = clientAddress(request, trusted);
    if (!policy.authenticate) return wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, address));
    policy.authenticate(request).then(
      (identity) => wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, address, identity)),
      (error: { status?: number; message?: string }) => refuseUnauthenticated(socket, error),
    );
  });
  return wss;
}
