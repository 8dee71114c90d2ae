// What the server does with each client frame. Every invalid frame gets an
// error frame and the connection stays usable; nothing a client sends can
// throw out of here.
import { isUtf8 } from 'node:buffer';
import type { Broker } from '../bus/types.js';
import { BusUnavailableError } from '../bus/types.js';
import { headerTail } from '../bus/payload.js';
import { messagePrefix, messageSuffix, pongFrame } from '../protocol/encode.js';
import { parseClientFrame } from '../protocol/parse.js';
import type { JoinFrame, SendFrame } from '../protocol/frames.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Connection } from './connection.js';

export interface HandlerOptions {
  instanceId: string;
  maxTextBytes: number;
  maxRoomsPerConnection: number;
  broker: Broker;
  registry: RoomRegistry;
  logger: Logger;
  metrics: Metrics;
}

export class FrameHandler {
  /** Names given at join, per connection and room: a name is per room membership. */
  private readonly names = new WeakMap<Connection, Map<string, string>>();

  constructor(private readonly options: HandlerOptions) {}

  handle(connection: Connection, data: Buffer, isBinary: boolean): void {
    const { metrics } = this.options;
    connection.alive = true;
    if (isBinary) {
      metrics.framesRejected.inc();
      return connection.sendError('bad_request', 'binary frames are not supported; send JSON text frames');
    }
    // ws is told to skip its own UTF-8 check, so that bad bytes get an error
    // frame instead of closing the connection.
    if (!isUtf8(data)) {
      metrics.framesRejected.inc();
      return connection.sendError('bad_request', 'frame is not valid UTF-8');
    }
    const parsed = parseClientFrame(data.toString('utf8'), { maxTextBytes: this.options.maxTextBytes });
    if (!parsed.ok) {
      metrics.framesRejected.inc();
      return connection.sendError(parsed.code, parsed.message, parsed.ref);
    }
    const frame = parsed.frame;
    switch (frame.type) {
      case 'join':
        return this.join(connection, frame);
      case 'leave':
        if (!connection.rooms.delete(frame.room)) return this.reject(connection, 'not_joined', `not in room ${frame.room}`, frame.ref);
        this.names.get(connection)?.delete(frame.room);
        this.options.registry.leave(connection, frame.room);
        return;
      case 'send':
        return this.send(connection, frame);
      case 'ping':
        return connection.sendText(pongFrame(frame.ref));
    }
  }

  private reject(connection: Connection, code: Parameters<Connection['sendError']>[0], message: string, ref?: string): void {
    this.options.metrics.framesRejected.inc();
    connection.sendError(code, message, ref);
  }

  private join(connection: Connection, frame: JoinFrame): void {
    const { registry, broker, maxRoomsPerConnection } = this.options;
    if (connection.rooms.has(frame.room)) return this.reject(connection, 'bad_request', `already in room ${frame.room}`, frame.ref);
    if (connection.rooms.size >= maxRoomsPerConnection) {
      return this.reject(connection, 'too_many_rooms', `at most ${maxRoomsPerConnection} rooms per connection`, frame.ref);
    }
    if (!broker.ready) return this.reject(connection, 'unavailable', 'the message bus is unavailable; retry shortly', frame.ref);
    connection.rooms.add(frame.room);
    let names = this.names.get(connection);
    if (!names) this.names.set(connection, (names = new Map()));
    names.set(frame.room, frame.name);
    registry.join(connection, frame.room, frame.since).catch((error: unknown) => {
      connection.rooms.delete(frame.room);
      names!.delete(frame.room);
      if (!(error instanceof BusUnavailableError)) this.options.logger.error({ err: error }, 'join failed');
      if (connection.open) this.reject(connection, 'unavailable', 'could not join: the message bus is unavailable; retry shortly', frame.ref);
    });
  }

  private send(connection: Connection, frame: SendFrame): void {
    const { broker, instanceId, metrics } = this.options;
    const name = this.names.get(connection)?.get(frame.room);
    if (!connection.rooms.has(frame.room) || name === undefined) {
      return this.reject(connection, 'not_joined', `join room ${frame.room} before sending to it`, frame.ref);
    }
    if (!connection.takeSendToken()) {
      return this.reject(connection, 'rate_limited', 'too many messages; slow down', frame.ref);
    }
    if (!broker.ready) return this.reject(connection, 'unavailable', 'the message bus is unavailable; retry shortly', frame.ref);
    metrics.messagesReceived.inc();
    broker
      .publish({
        room: frame.room,
        framePrefix: messagePrefix(frame.room),
        frameSuffix: messageSuffix(name, frame.text, Date.now(), instanceId),
        headerTail: headerTail(instanceId, connection.id, frame.ref),
      })
      .catch(() => {
        // Not confirmed in time. The append carries a deadline that Redis checks, so a
        // command that a frozen Redis runs late stores nothing: the client may send again.
        if (connection.open) this.reject(connection, 'unavailable', 'the message bus did not confirm this message in time and it was not stored; send it again', frame.ref);
      });
  }
}
