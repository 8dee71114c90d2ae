// The broker a member talks to: pub/sub between instances, with the room
// history and presence that live beside it. Two implementations: Redis, and an
// in-process one for a single instance without Redis.
import type { BusEvent } from './payload.js';

export interface MessageDraft {
  room: string;
  /** Frame text before and after the id (see protocol/encode). */
  framePrefix: string;
  frameSuffix: string;
  /** Header tail naming the sender (see bus/payload). */
  headerTail: string;
}

export interface StoredMessage {
  id: string;
  frame: string;
}

export type HistoryQuery = { since: string } | { last: number };

export interface HistoryRead {
  messages: StoredMessage[];
  /** False when `since` is older than what is kept: the reader missed messages. */
  recovered: boolean;
}

export interface BrokerHandlers {
  /** An event published on a room this member subscribes to. */
  event(room: string, event: BusEvent): void;
  /**
   * Connected again after an outage, with every room resubscribed: rooms must
   * catch up. With `rooms`, only those (a shard of a Redis Cluster came back).
   */
  resumed(rooms?: string[]): void;
  /** The connection to the bus was lost; with `rooms`, only those rooms' subscriptions. */
  lost(reason: string, rooms?: string[]): void;
}

export interface Broker {
  readonly ready: boolean;
  /** Why the broker is not ready, for /readyz. */
  readonly notReadyReason: string | undefined;
  start(handlers: BrokerHandlers): Promise<void>;
  subscribe(room: string): Promise<void>;
  unsubscribe(room: string): Promise<void>;
  /** Appends to the room's history and publishes, in one step; resolves to the message id. */
  publish(draft: MessageDraft): Promise<string>;
  history(room: string, query: HistoryQuery): Promise<HistoryRead>;
  /** Records this member's count of connections in a room; resolves to the count across all members. */
  presence(room: string, localCount: number): Promise<number>;
  close(): Promise<void>;
}

export class BusUnavailableError extends Error {
  constructor(reason: string) {
    super(`message bus unavailable: ${reason}`);
    this.name = 'BusUnavailableError';
  }
}
