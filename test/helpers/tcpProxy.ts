// A loopback TCP proxy to put between an instance and Redis (or anything),
// that injects the faults a network and a failing server cause: replies
// delayed, replies dropped (the request reached the server, the answer never
// comes back), connections cut, new connections refused.
//
// Each connection is named by the first text the client sends that matches
// `nameFrom` (ioredis sends CLIENT SETNAME chat:<id> / chat-sub:<id> first), so
// a fault can hit only the command connection or only the subscriber.
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ProxiedConnection {
  client: Socket;
  server: Socket;
  /** The first match of `nameFrom` in what the client sent, once seen. */
  name: string | undefined;
  /** Bytes from the server read while replies were dropped. */
  droppedBytes: number;
  /** The client sent what `after` of delayReplies waits for. */
  triggered: boolean;
}

export type ConnectionFilter = (connection: ProxiedConnection) => boolean;

export interface TcpProxy {
  readonly port: number;
  readonly connections: ReadonlySet<ProxiedConnection>;
  /**
   * Replies (server → client) wait this long before they are passed on; 0 = none.
   * With `after`, only once the client sent something matching it on that
   * connection (e.g. /subscribe/i: the handshake is answered, the resubscribe is not).
   */
  delayReplies(ms: number, which?: ConnectionFilter, after?: RegExp): void;
  /** Replies are read and thrown away (the server did the work; the client never hears). */
  dropReplies(which?: ConnectionFilter): void;
  /** Back to passing everything through at once. */
  heal(): void;
  /** Destroys the matching open connections (both sides), as a failover or a network cut does. */
  cut(which?: ConnectionFilter): number;
  /** While true, new connections are accepted and closed at once. */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

const all: ConnectionFilter = () => true;

/** Connections whose name starts with `prefix`, e.g. byName('chat-sub:'). */
export const byName = (prefix: string): ConnectionFilter => (connection) => connection.name?.startsWith(prefix) ?? false;

export async function startTcpProxy(target: { host?: string; port: number }, options: { nameFrom?: RegExp } = {}): Promise<TcpProxy> {
  const nameFrom = options.nameFrom ?? /chat(?:-sub)?:[A-Za-z0-9_.:-]+/;
  const connections = new Set<ProxiedConnection>();
  let refusing = false;
  let delayMs = 0;
  let delayWhich: ConnectionFilter = all;
  let delayAfter: RegExp | undefined;
  let dropWhich: ConnectionFilter | undefined;

  const server: Server = createServer((client: Socket) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect({ host: target.host ?? '127.0.0.1', port: target.port });
    const connection: ProxiedConnection = { client, server: upstream, name: undefined, droppedBytes: 0, triggered: false };
    connections.add(connection);
    let seen = '';
    client.on('data', (chunk: Buffer) => {
      if (connection.name === undefined && seen.length < 4096) {
        seen += chunk.toString('latin1');
        connection.name = nameFrom.exec(seen)?.[0];
      }
      if (delayAfter && !connection.triggered && delayAfter.test(chunk.toString('latin1'))) connection.triggered = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropWhich?.(connection)) {
        connection.droppedBytes += chunk.length;
        return;
      }
      if (delayMs > 0 && delayWhich(connection) && (delayAfter === undefined || connection.triggered)) {
        // Delayed in order: pause reading so later chunks cannot overtake this one.
        upstream.pause();
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
          upstream.resume();
        }, delayMs);
        return;
      }
      client.write(chunk);
    });
    const end = () => {
      connections.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    connections,
    delayReplies(ms, which = all, after) {
      delayMs = ms;
      delayWhich = which;
      delayAfter = after;
      for (const connection of connections) connection.triggered = false;
    },
    dropReplies(which = all) {
      dropWhich = which;
    },
    heal() {
      delayMs = 0;
      delayAfter = undefined;
      dropWhich = undefined;
    },
    cut(which = all) {
      let count = 0;
      for (const connection of [...connections]) {
        if (!which(connection)) continue;
        count++;
        connection.client.destroy();
        connection.server.destroy();
        connections.delete(connection);
      }
      return count;
    },
    refuse(on) {
      refusing = on;
    },
    async close() {
      for (const connection of connections) {
        connection.client.destroy();
        connection.server.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
