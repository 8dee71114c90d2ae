// One member of the cluster: an HTTP server with the WebSocket endpoint, its
// connections, its rooms and its broker. node:cluster workers each run one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import { createMemoryBus } from '../bus/memory.js';
import { createRedisBus } from '../bus/redis.js';
import { IamAuthRotation } from '../bus/redisCredentials.js';
import type { Bus } from '../bus/types.js';
import { createRedisClusterBus } from '../bus/redisCluster.js';
import { RoomRegistry } from '../rooms/registry.js';
import { createRequestHandler, loadAssets } from '../http/routes.js';
import { helloFrame } from '../protocol/encode.js';
import { CLOSE_CODES } from '../protocol/codes.js';
import { CLOSE_HANDSHAKE_TIMEOUT_MS, DRAIN_CLOSE_SPREAD_MAX_MS, DRAIN_EXIT_GRACE_SECONDS, HTTP_TIMEOUTS } from '../constants.js';
import { Connection } from './connection.js';
import { FrameHandler } from './handler.js';
import { attachWebSocketServer } from './websocket.js';
import { FailureSummary } from '../logSummary.js';
import { TokenClock } from '../auth/tokenClock.js';
import { TokenVerifier, type Identity } from '../auth/verifier.js';
import { tokenOf } from '../auth/admission.js';
import { extraRoutes } from '../http/extraRoutes.js';

/** Where a socket keeps its Connection (see the shared listeners in createApp). */
const CONNECTION = Symbol('connection');

export interface Member {
  readonly port: number;
  /** Stops taking traffic, waits for the load balancer, closes every socket, stops. */
  drain(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function createBus(config: Config, logger: Logger, metrics: Metrics): Bus {
  if (config.redisUrl === undefined) {
    logger.warn('REDIS_URL is not set: using the in-process bus, which serves one instance only');
    return createMemoryBus(config.instanceId, config.historyLimit);
  }
  const options = {
    url: config.redisUrl,
    instanceId: config.instanceId,
    historyLimit: config.historyLimit,
    historyTtlMs: config.historyTtlMs,
    logger,
    onReconnect: () => metrics.redisReconnects.inc(),
    onError: () => metrics.redisErrors.inc(),
    credentials: config.redisIamAuth
      ? new IamAuthRotation(config.redisIamAuth, { onError: (error) => logger.warn({ err: error }, 'redis IAM auth token refresh failed') })
      : undefined,
  };
  return config.redisMode === 'cluster' ? createRedisClusterBus(options) : createRedisBus(options);
}

export async function startMember(config: Config, logger: Logger): Promise<Member> {
  const connections = new Set<Connection>();
  /** Open connections per client address, for MAX_CONNECTIONS_PER_ADDRESS. */
  const perAddress = new Map<string, number>();
  const refusals = new FailureSummary(logger);
  let draining = false;
  let nextConnection = 0;

  // The gauges read live state when scraped; broker and registry exist by then.
  const metrics: Metrics = new Metrics(config.instanceId, {
    connections: () => connections.size,
    rooms: () => registry.size,
    busReady: () => broker.ready,
    draining: () => draining,
  });
  const bus: Bus = createBus(config, logger, metrics);
  const broker = bus.broker;
  const registry: RoomRegistry = new RoomRegistry({ bus, joinHistory: config.joinHistory, logger, metrics });
  // AUTH_MODE=jwt: tokens are checked at the upgrade, then watched until they run out.
  const verifier = config.auth.mode === 'jwt' ? new TokenVerifier(config.auth) : undefined;
  const tokens = verifier && new TokenClock<Connection>(verifier);
  const handler = new FrameHandler({
    instanceId: config.instanceId,
    maxTextBytes: config.maxTextBytes,
    maxRoomsPerConnection: config.maxRoomsPerConnection,
    broker,
    registry,
    logger,
    metrics,
    tokens,
  });

  const notReadyReason = () => (draining ? 'draining' : broker.notReadyReason);
  const server: Server = createServer(
    // Timeouts below are enforced on this check, so check every second rather than every 30.
    { connectionsCheckingInterval: HTTP_TIMEOUTS.checkEveryMs },
    createRequestHandler(
      { instanceId: config.instanceId, notReadyReason, metrics: () => metrics.render() },
      loadAssets(),
      extraRoutes(config, { broker, logger }),
    ),
  );
  // Slow or stalled requests (slowloris) are cut off instead of holding a socket.
  server.headersTimeout = HTTP_TIMEOUTS.headersMs;
  server.requestTimeout = HTTP_TIMEOUTS.requestMs;
  server.keepAliveTimeout = HTTP_TIMEOUTS.keepAliveMs;

  const connectionEvents = {
    slowConsumer: (connection: Connection) => {
      metrics.slowConsumersDropped.inc();
      logger.warn({ connection: connection.id, address: connection.address }, 'closed a client too slow to read');
    },
    // Called once per connection: the close decision is taken once.
    abusive: (connection: Connection) => logger.warn({ connection: connection.id, address: connection.address }, 'closed an abusive client'),
  };

  // One set of listeners for every socket, finding the connection through the
  // socket, instead of four closures per connection: idle connections are what
  // an instance holds most of, and each closure costs memory for as long as its
  // socket lives.
  const connectionOf = (ws: WebSocket) => (ws as WebSocket & { [CONNECTION]: Connection })[CONNECTION];
  function onMessage(this: WebSocket, data: Buffer, isBinary: boolean) {
    handler.handle(connectionOf(this), data, isBinary);
  }
  function onPong(this: WebSocket) {
    connectionOf(this).alive = true;
  }
  function onError(this: WebSocket, error: Error) {
    logger.debug({ connection: connectionOf(this).id, err: error.message }, 'socket error');
  }
  function onClose(this: WebSocket) {
    const connection = connectionOf(this);
    connections.delete(connection);
    const count = (perAddress.get(connection.address) ?? 1) - 1;
    if (count > 0) perAddress.set(connection.address, count);
    else perAddress.delete(connection.address);
    registry.drop(connection, connection.rooms);
    connection.rooms.clear();
    tokens?.forget(connection);
  }
  const accept = (ws: WebSocket, address: string, identity?: Identity) => {
    const fromAddress = perAddress.get(address) ?? 0;
    const addressFull = config.maxConnectionsPerAddress > 0 && fromAddress >= config.maxConnectionsPerAddress;
    if (connections.size >= config.maxConnections || addressFull) {
      const reason = connections.size >= config.maxConnections ? 'too many connections on this instance' : 'too many connections from this address';
      refusals.note('refused a connection', { address, reason });
      ws.close(CLOSE_CODES.tooManyConnections, reason);
      setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS).unref();
      return;
    }
    perAddress.set(address, fromAddress + 1);
    const connection = new Connection((nextConnection++).toString(36), ws, address, config, connectionEvents);
    logger.info({ connection: connection.id, address }, 'connected');
    (ws as WebSocket & { [CONNECTION]: Connection })[CONNECTION] = connection;
    connections.add(connection);
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('error', onError);
    ws.on('close', onClose);
    connection.sendText(helloFrame(config.instanceId, connection.id));
    if (identity) {
      connection.user = identity.user;
      tokens?.admit(connection, identity);
    }
  };
  // Upgrades are refused while draining and while Redis is down: the client retries, and the balancer sends it elsewhere.
  attachWebSocketServer(
    server,
    {
      allowedOrigins: config.allowedOrigins,
      refuseReason: notReadyReason,
      trustedProxies: config.trustedProxies,
      // Refused tokens are logged as a bounded summary: a client can send them without end.
      authenticate:
        verifier &&
        ((request) =>
          verifier.verify(tokenOf(request)).catch((error: Error) => {
            refusals.note('refused a token', { reason: error.message });
            throw error;
          })),
    },
    accept,
  );
  tokens?.start();

  const pinger = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      connection.ws.ping();
    }
  }, config.pingIntervalMs);
  pinger.unref();

  await broker.start({
    event: (room, event) => registry.onEvent(room, event),
    resumed: (rooms) => void registry.onResumed(rooms),
    lost: (_reason, rooms) => registry.onLost(rooms),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.host, bus: config.redisUrl ? 'redis' : 'memory' }, 'listening');

  let drained: Promise<void> | undefined;
  const drain = async () => {
    draining = true;
    logger.info({ drainSeconds: config.drainSeconds, connections: connections.size }, 'draining');
    await sleep(config.drainSeconds * 1000);
    // Close sockets spread over a few seconds, so clients do not reconnect all at once.
    const all = [...connections];
    const spreadMs = Math.min(DRAIN_CLOSE_SPREAD_MAX_MS, 500 + all.length * 5);
    all.forEach((connection, index) => {
      setTimeout(() => connection.close(CLOSE_CODES.draining, 'server draining'), (index * spreadMs) / Math.max(1, all.length));
    });
    const deadline = Date.now() + spreadMs + 3000;
    while (connections.size > 0 && Date.now() < deadline) await sleep(50);
    for (const connection of connections) connection.ws.terminate();
    clearInterval(pinger);
    tokens?.stop();
    await registry.clearPresence();
    registry.close();
    refusals.close();
    await broker.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    logger.info('drained');
  };

  return {
    port,
    drain: () => (drained ??= drain()),
  };
}

/** The longest a drain may take before the process must be gone. */
export function drainDeadlineMs(config: Config): number {
  return (config.drainSeconds + DRAIN_EXIT_GRACE_SECONDS) * 1000;
}
