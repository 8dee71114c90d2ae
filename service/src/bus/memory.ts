// The in-process bus: one instance, no Redis. Same ids, history and presence
// semantics as the Redis parts, so the rest of the service cannot tell them
// apart. Events are delivered on a later microtask, as they would arrive from
// Redis, never inside the publishing call. One object plays all three parts.
import { MemoryStream } from '../history/memoryStream.js';
import { messagePrefix } from '../protocol/encode.js';
import { PayloadDecoder, presencePayload } from './payload.js';
import type { Broker, BrokerHandlers, Bus, Headcount, HistoryQuery, HistoryRead, HistoryReader, MessageDraft, PresenceManager } from './types.js';

export class MemoryBroker implements Broker, HistoryReader, PresenceManager {
  readonly ready = true;
  readonly notReadyReason = undefined;
  private readonly streams = new Map<string, MemoryStream>();
  private readonly subscribed = new Set<string>();
  private readonly totals = new Map<string, string>();
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

  async publish(draft: MessageDraft): Promise<string> {
    const id = this.stream(draft.room).append(draft.frameSuffix);
    this.emit(draft.room, `M${id}${draft.headerTail}${draft.framePrefix}${id}${draft.frameSuffix}`);
    return id;
  }

  async read(room: string, query: HistoryQuery): Promise<HistoryRead> {
    return this.stream(room).read(messagePrefix(room), query, this.historyLimit);
  }

  async update(room: string, localCount: number, localUsers?: readonly string[]): Promise<Headcount> {
    const headcount = { members: localCount, users: localUsers === undefined ? localCount : new Set(localUsers).size };
    const payload = presencePayload(headcount.members, headcount.users);
    if (this.totals.get(room) !== payload) {
      this.totals.set(room, payload);
      this.emit(room, payload);
    }
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
