// The in-process bus: one instance, no Redis. Same ids, history and presence
// semantics as the Redis parts, so the rest of the service cannot tell them
// apart. Events are delivered on a later microtask, as they would arrive from
// Redis, never inside the publishing call. One object plays all three parts.
import { MemoryStream } from '../history/memoryStream.js';
import { messagePrefix } from '../protocol/encode.js';
import { PayloadDecoder, presencePayload } from './payload.js';
import type { Broker, BrokerHandlers, Bus, Headcount, HistoryQuery, HistoryRead, HistoryReader, MessageDraft, PresenceManager, Published } from './types.js';
import { SEND_DEDUPE_TTL_MS } from '../constants.js';

export class MemoryBroker implements Broker, HistoryReader, PresenceManager {
  readonly ready = true;
  readonly notReadyReason = undefined;
  private readonly streams = new Map<string, MemoryStream>();
  private readonly subscribed = new Set<string>();
  /** The last headcount of each room with members. */
  private readonly totals = new Map<string, Headcount>();
  private presenceVersion = 0;
  private readonly sent = new Map<string, { id: string; suffix: string; until: number }>();
  private readonly decoder: PayloadDecoder;
  private handlers: BrokerHandlers | undefined;

  constructor(private readonly instanceId: string, private readonly historyLimit: number) {
    this.decoder = new PayloadDecoder(instanceId);
  }

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
  }

  async subscribe(room: string): Promise<void> {
    this.subscribed.add(room);
  }

  async unsubscribe(room: string): Promise<void> {
    this.subscribed.delete(room);
  }

  private stream(room: string): MemoryStream {
    let stream = this.streams.get(room);
    if (!stream) {
      stream = new MemoryStream(this.historyLimit);
      this.streams.set(room, stream);
    }
    return stream;
  }

  private emit(room: string, payload: string): void {
    if (!this.subscribed.has(room)) return;
    const event = this.decoder.decode(payload);
    if (event) queueMicrotask(() => this.handlers?.event(room, event));
  }

  async publish(draft: MessageDraft): Promise<Published> {
    const dedupe = draft.dedupeKey === undefined ? undefined : `${draft.room}\n${draft.dedupeKey}`;
    const prior = dedupe === undefined ? undefined : this.sent.get(dedupe);
    if (prior !== undefined && prior.until > Date.now()) return { id: prior.id, repeated: true, frame: draft.framePrefix + prior.id + prior.suffix };
    const id = this.stream(draft.room).append(draft.frameSuffix);
    if (dedupe !== undefined) this.remember(dedupe, { id, suffix: draft.frameSuffix, until: Date.now() + SEND_DEDUPE_TTL_MS });
    this.emit(draft.room, `M${id}${draft.headerTail}${draft.framePrefix}${id}${draft.frameSuffix}`);
    return { id, repeated: false };
  }

  private remember(key: string, entry: { id: string; suffix: string; until: number }): void {
    this.sent.set(key, entry);
    // Expired entries leave in insertion order, which is expiry order.
    for (const [old, value] of this.sent) {
      if (value.until > Date.now()) break;
      this.sent.delete(old);
    }
  }

  async heartbeat(): Promise<Iterable<string>> {
    return [];
  }

  async read(room: string, query: HistoryQuery): Promise<HistoryRead> {
    return this.stream(room).read(messagePrefix(room), query, this.historyLimit);
  }

  async update(room: string, localCount: number, localUsers: readonly string[] = []): Promise<Headcount> {
    const members = localCount;
    const users = localUsers.length > 0 ? new Set(localUsers).size : localCount;
    const last = this.totals.get(room);
    if (last?.members === members && last.users === users) return last;
    const headcount = { members, users, version: ++this.presenceVersion };
    this.totals.set(room, headcount);
    this.emit(room, presencePayload(headcount));
    if (localCount === 0) this.totals.delete(room);
    return headcount;
  }

  async close(): Promise<void> {
    this.subscribed.clear();
  }
}

export function createMemoryBus(instanceId: string, historyLimit: number): Bus {
  const memory = new MemoryBroker(instanceId, historyLimit);
  return { broker: memory, history: memory, presence: memory };
}
