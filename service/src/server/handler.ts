// What the server does with each client frame. Every invalid frame gets an
// error frame and the connection stays usable; nothing a client sends can
// throw out of here. Every frame costs from the connection's budget (a join
// also by the history it replayed), and nothing is processed once the server
// decided to close the connection.
import { isUtf8 } from 'node:buffer';
import type { Broker } from '../bus/types.js';
import { BusUnavailableError } from '../bus/types.js';
import { leftFrame, pongFrame, withRef } from '../protocol/encode.js';
import { parseClientFrame } from '../protocol/parse.js';
import type { JoinFrame, RefreshFrame, SendFrame } from '../protocol/frames.js';
import type { TokenClock } from '../auth/tokenClock.js';
import { publishMessage } from './publishMessage.js';
import type { ErrorCode } from '../protocol/codes.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { FRAME_COST } from '../constants.js';
import type { Connection } from './connection.js';

export interface HandlerOptions {
  instanceId: string;
  maxTextBytes: number;
  maxRoomsPerConnection: number;
  broker: Broker;
  registry: RoomRegistry;
  logger: Logger;
  metrics: Metrics;
  /** AUTH_MODE=jwt: the tokens of the connections; names and rooms come from them. */
  tokens?: TokenClock<Connection>;
}

export class FrameHandler {
  /** The join frame of each room membership, per connection: it gives the name, and tells a queued join it is still wanted. */
  private readonly names = new WeakMap<Connection, Map<string, JoinFrame>>();

  constructor(private readonly options: HandlerOptions) {}

  handle(connection: Connection, data: Buffer, isBinary: boolean): void {
    if (!connection.accepting) return;
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
    if (!connection.charge(FRAME_COST[frame.type])) {
      return this.reject(connection, 'rate_limited', frame.type === 'send' ? 'too many messages; slow down' : 'too many frames; slow down', frame.ref);
    }
    switch (frame.type) {
      case 'join':
        return this.join(connection, frame);
      case 'leave':
        if (!connection.rooms.delete(frame.room)) return this.reject(connection, 'not_joined', `not in room ${frame.room}`, frame.ref);
        this.names.get(connection)?.delete(frame.room);
        // A join still queued behind another has no member in the room yet: answer for it.
        if (!this.options.registry.leave(connection, frame.room)) connection.sendText(leftFrame(frame.room));
        return;
      case 'send':
        return this.send(connection, frame);
      case 'ping':
        return connection.sendText(pongFrame(frame.ref));
      case 'refresh':
        return this.refresh(connection, frame);
    }
  }

  /**
   * AUTH_MODE=jwt: the token's name, or a reason (sent as `forbidden`) when its
   * rooms do not include this one. Without tokens, the name given at join.
   */
  private permitted(connection: Connection, room: string, joinName: string | undefined): { name: string } | { forbidden: string } | undefined {
    const tokens = this.options.tokens;
    if (!tokens) return joinName === undefined ? undefined : { name: joinName };
    const identity = tokens.identity(connection);
    if (!identity || !identity.rooms.permits(room)) return { forbidden: `your token does not permit room ${room}` };
    return { name: identity.name };
  }

  private refresh(connection: Connection, frame: RefreshFrame): void {
    const tokens = this.options.tokens;
    if (!tokens) return this.reject(connection, 'bad_request', 'refresh needs AUTH_MODE=jwt; this server takes no tokens', frame.ref);
    tokens.refresh(connection, frame.token, frame.ref).then(
      (outcome) => {
        if (outcome.ok) connection.sendText(outcome.frame);
        else if (connection.open) this.reject(connection, outcome.code, outcome.message, frame.ref);
      },
      (error: unknown) => this.options.logger.error({ err: error }, 'refresh failed'),
    );
  }

  private reject(connection: Connection, code: ErrorCode, message: string, ref?: string): void {
    this.options.metrics.framesRejected.inc();
    connection.sendError(code, message, ref);
  }

  private join(connection: Connection, frame: JoinFrame): void {
    const { broker, maxRoomsPerConnection } = this.options;
    if (connection.rooms.has(frame.room)) return this.reject(connection, 'bad_request', `already in room ${frame.room}`, frame.ref);
    if (connection.rooms.size >= maxRoomsPerConnection) {
      return this.reject(connection, 'too_many_rooms', `at most ${maxRoomsPerConnection} rooms per connection`, frame.ref);
    }
    const permit = this.permitted(connection, frame.room, frame.name)!;
    if ('forbidden' in permit) return this.reject(connection, 'forbidden', permit.forbidden, frame.ref);
    if (!broker.ready) return this.reject(connection, 'unavailable', 'the message bus is unavailable; retry shortly', frame.ref);
    connection.rooms.add(frame.room);
    let names = this.names.get(connection);
    if (!names) this.names.set(connection, (names = new Map()));
    names.set(frame.room, frame);
    connection.joins = connection.joins.then(() => this.runJoin(connection, frame, names));
  }

  private async runJoin(connection: Connection, frame: JoinFrame, names: Map<string, JoinFrame>): Promise<void> {
    // Left (and maybe joined again), or closed, while this join waited for the one before it.
    if (!connection.accepting || !connection.rooms.has(frame.room) || names.get(frame.room) !== frame) return;
    const forget = () => {
      if (names.get(frame.room) !== frame) return; // a later join of the same room owns it now
      connection.rooms.delete(frame.room);
      names.delete(frame.room);
    };
    if (connection.overBudget) {
      forget();
      return this.reject(connection, 'rate_limited', 'too many history reads; slow down', frame.ref);
    }
    try {
      const replayed = await this.options.registry.join(connection, frame.room, frame.since, frame.epoch);
      connection.chargeAfter(Math.floor(replayed / FRAME_COST.replayMessagesPerToken));
    } catch (error) {
      forget();
      if (!(error instanceof BusUnavailableError)) this.options.logger.error({ err: error }, 'join failed');
      if (connection.open) this.reject(connection, 'unavailable', 'could not join: the message bus is unavailable; retry shortly', frame.ref);
    }
  }

  private send(connection: Connection, frame: SendFrame): void {
    const { broker, instanceId, metrics } = this.options;
    const permit = this.permitted(connection, frame.room, this.names.get(connection)?.get(frame.room)?.name);
    // Checked on every send: a refreshed token may no longer permit a room joined earlier.
    if (permit && 'forbidden' in permit) return this.reject(connection, 'forbidden', permit.forbidden, frame.ref);
    if (!connection.rooms.has(frame.room) || permit === undefined) {
      return this.reject(connection, 'not_joined', `join room ${frame.room} before sending to it`, frame.ref);
    }
    if (!broker.ready) return this.reject(connection, 'unavailable', 'the message bus is unavailable; retry shortly', frame.ref);
    metrics.messagesReceived.inc();
    publishMessage(broker, instanceId, frame.room, permit.name, frame.text, { connection: connection.id, ref: frame.ref })
      .then((published) => {
        // Sent again with a ref already stored: acknowledged with the stored copy, not stored twice.
        if (published.repeated && frame.ref !== undefined) connection.sendText(withRef(published.frame, frame.ref));
      })
      .catch(() => {
        // Not confirmed in time. The append carries a deadline that Redis checks, so a
        // command that a frozen Redis runs late stores nothing: the client may send again.
        if (connection.open) this.reject(connection, 'unavailable', 'the message bus did not confirm this message in time and it was not stored; send it again', frame.ref);
      });
  }
}
