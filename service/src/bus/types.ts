// What an instance needs of the shared backend, in three parts, the way
// centrifuge separates its Broker from its PresenceManager:
//   Broker          pub/sub between instances (a publish also appends the
//                   message to the room's history, in one step), and the
//                   connection's readiness;
//   HistoryReader   reading a room's history back;
//   PresenceManager each instance's count of connections per room, and the total.
// A `Bus` is one of each. Implementations: Redis (bus/redis.ts,
// history/redisHistory.ts, presence/redisPresence.ts) and an in-process one for
// a single instance without Redis (bus/memory.ts).
import type { BusEvent } from './payload.js';

export interface MessageDraft {
  room: string;
  /** Frame text before and after the id (see protocol/encode). */
  framePrefix: string;
  frameSuffix: string;
  /** Header tail naming the sender (see bus/payload). */
  headerTail: string;
  /** Names this send for its sender (connection and ref): the same key again is not stored twice. */
  dedupeKey?: string;
}

export type Published =
  | { id: string; repeated: false }
  /** This sender's ref was stored already: nothing was stored or published again. */
  | { id: string; repeated: true; frame: string };

export interface StoredMessage {
  id: string;
  frame: string;
}

/** `epoch`: the room epoch the reader's since belongs to, from its `joined`. */
export type HistoryQuery = { since: string; epoch?: string } | { last: number };

export interface HistoryRead {
  messages: StoredMessage[];
  /** False when messages after `since` are no longer kept: the reader missed some. Always true for `last`. */
  recovered: boolean;
  /** Newest id in the room's history when it was read ('0-0' when empty): the reader is complete up to it. */
  head: string;
  /** The room's epoch: one unbroken history ('' while the room has none). */
  epoch: string;
}

export interface BrokerHandlers {
  /** An event published on a room this instance subscribes to. */
  event(room: string, event: BusEvent): void;
  /**
   * Connected again after an outage, with every room resubscribed: rooms must
   * catch up. With `rooms`, only those (a shard of a Redis Cluster came back).
   */
  resumed(rooms?: string[]): void;
  /** The connection to the bus was lost; with `rooms`, only those rooms' subscriptions. */
  lost(reason: string, rooms?: string[]): void;
}

/** Pub/sub between instances, and whether the backend can be used at all. */
export interface Broker {
  readonly ready: boolean;
  /** Why the broker is not ready, for /readyz. */
  readonly notReadyReason: string | undefined;
  start(handlers: BrokerHandlers): Promise<void>;
  subscribe(room: string): Promise<void>;
  unsubscribe(room: string): Promise<void>;
  /** Appends to the room's history and publishes, in one step (or neither, when the draft's dedupe key was stored already). */
  publish(draft: MessageDraft): Promise<Published>;
  close(): Promise<void>;
}

export interface HistoryReader {
  read(room: string, query: HistoryQuery): Promise<HistoryRead>;
}

/** A room across all instances: its connections, and the distinct users behind them. */
export interface Headcount {
  members: number;
  users: number;
  /**
   * Orders the headcounts of a room: a larger version is newer. A headcount
   * comes both as the answer to a write and as an event on the room's channel,
   * over two connections whose order nobody keeps; the version says which is
   * the newer. 0: unknown (an event from an instance of an older version).
   */
  version: number;
}

export interface PresenceManager {
  /**
   * Records this instance's count of connections in a room and, with
   * AUTH_MODE=jwt, the users they belong to (none given: each connection is its
   * own user); resolves to the headcount across all instances.
   */
  update(room: string, localCount: number, localUsers?: readonly string[]): Promise<Headcount>;
  /**
   * Called every PRESENCE_REFRESH_MS with the rooms this instance is in: one
   * heartbeat for the instance, whatever the number of rooms. Resolves to the
   * rooms whose counts must be written again (this instance's entries were
   * taken for dead).
   */
  heartbeat(rooms: () => Iterable<string>): Promise<Iterable<string>>;
}

export interface Bus {
  broker: Broker;
  history: HistoryReader;
  presence: PresenceManager;
}

export class BusUnavailableError extends Error {
  constructor(reason: string) {
    super(`message bus unavailable: ${reason}`);
    this.name = 'BusUnavailableError';
  }
}
