// The rooms this member has local members in, and the fan-out to them.
//
// A member subscribes to a room's channel only while it has local members in
// the room. Each message arrives once per member, is framed once, and the same
// bytes go to every local member. A joining member gets its history and the
// live messages that arrived meanwhile without a gap or a duplicate: the
// subscription exists before history is read, live messages are held while it
// is read, and only those newer than the last replayed id are released.
import type { Broker, HistoryQuery } from '../bus/types.js';
import { BusUnavailableError } from '../bus/types.js';
import type { BusEvent, Delivery } from '../bus/payload.js';
import { compareIds, maxId } from '../protocol/ids.js';
import { joinedFrame, leftFrame, presenceFrame, withRef } from '../protocol/encode.js';
import { encodeTextFrame } from '../server/frameWriter.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { PRESENCE_REFRESH_MS } from '../defaults.js';

/** What the registry needs of a connection. */
export interface Member {
  readonly id: string;
  readonly open: boolean;
  writeFrame(frame: Buffer): void;
  sendText(text: string): void;
}

/** Presence frames of one room go out at most this often. */
const PRESENCE_FRAME_INTERVAL_MS = 250;
/** Leaves and disconnects are counted together before presence is written. */
const PRESENCE_WRITE_DELAY_MS = 100;

class LocalRoom {
  readonly live = new Set<Member>();
  /** Members whose history is being read, with the live deliveries held for them. */
  readonly joining = new Map<Member, Delivery[]>();
  /** Newest id delivered here: where the room catches up from after an outage. */
  lastId: string | undefined;
  /**
   * Members that went live with a replay reaching past what has arrived live
   * here: a message stored before their history read may still be on its way
   * through pub/sub. Each skips live deliveries up to its mark, once.
   */
  readonly replayedUpTo = new Map<Member, string>();
  /** A catch-up is running; another resume waits for it rather than replaying twice. */
  catchUpRunning: Promise<void> | undefined;
  /** Held live deliveries while the whole room catches up after an outage. */
  catchingUp: Delivery[] | undefined;
  subscription: Promise<void> | undefined;
  members = 0;
  /** Presence events seen; a join that spans one reports the newer count. */
  presenceEvents = 0;
  presenceSent = -1;
  presenceFrameTimer: NodeJS.Timeout | undefined;
  presenceWriteTimer: NodeJS.Timeout | undefined;

  constructor(readonly name: string) {}

  get localCount(): number {
    return this.live.size + this.joining.size;
  }
}

export interface RegistryOptions {
  broker: Broker;
  joinHistory: number;
  logger: Logger;
  metrics: Metrics;
}

export class RoomRegistry {
  private readonly rooms = new Map<string, LocalRoom>();
  /** Counts connection losses, so a join that spans one can tell. */
  private outages = 0;
  private readonly refreshTimer: NodeJS.Timeout;

  constructor(private readonly options: RegistryOptions) {
    this.refreshTimer = setInterval(() => this.refreshPresence(), PRESENCE_REFRESH_MS);
    this.refreshTimer.unref();
  }

  get size(): number {
    return this.rooms.size;
  }

  private room(name: string): LocalRoom {
    let room = this.rooms.get(name);
    if (!room) {
      room = new LocalRoom(name);
      this.rooms.set(name, room);
    }
    return room;
  }

  /**
   * Joins a member: subscribe, count it, read history, then send `joined`, the
   * replay and the held live messages. Throws BusUnavailableError when the bus
   * is down or goes down meanwhile; the member is then not in the room.
   */
  async join(member: Member, name: string, since: string | undefined): Promise<void> {
    const { broker, joinHistory } = this.options;
    const room = this.room(name);
    room.joining.set(member, []);
    const outagesAtStart = this.outages;
    try {
      room.subscription ??= broker.subscribe(name).catch((error: unknown) => {
        room.subscription = undefined;
        throw error;
      });
      await room.subscription;
      const presenceEventsBefore = room.presenceEvents;
      const written = await this.writePresence(room);
      const query: HistoryQuery = since === undefined ? { last: joinHistory } : { since };
      const history = await broker.history(name, query);
      const held = room.joining.get(member);
      if (held === undefined || !member.open) return; // left or went away meanwhile
      if (this.outages !== outagesAtStart) throw new BusUnavailableError('connection to the bus lost during join');

      room.joining.delete(member);
      // Presence frames go to live members only; a change seen while this member
      // was joining must reach it through its `joined`.
      const members = room.presenceEvents > presenceEventsBefore ? room.members : written;
      member.sendText(joinedFrame(name, members, history.recovered));
      let last = since;
      for (const message of history.messages) {
        member.sendText(message.frame);
        last = message.id;
      }
      for (const delivery of held) {
        if (last !== undefined && compareIds(delivery.id, last) <= 0) continue;
        member.sendText(this.frameFor(member, delivery));
        last = delivery.id;
      }
      room.live.add(member);
      if (last !== undefined && (room.lastId === undefined || compareIds(last, room.lastId) > 0)) room.replayedUpTo.set(member, last);
      // The first live member also sets where an outage catch-up starts.
      room.lastId ??= last ?? '0-0';
    } catch (error) {
      room.joining.delete(member);
      this.afterDeparture(room);
      throw error;
    }
  }

  /** Returns false when the member was not in the room. */
  leave(member: Member, name: string): boolean {
    const room = this.rooms.get(name);
    if (!room || !(room.live.delete(member) || room.joining.delete(member))) return false;
    room.replayedUpTo.delete(member);
    member.sendText(leftFrame(name));
    this.afterDeparture(room);
    return true;
  }

  /** A connection went away: it leaves every room without a `left` frame. */
  drop(member: Member, names: Iterable<string>): void {
    for (const name of names) {
      const room = this.rooms.get(name);
      if (room && (room.live.delete(member) || room.joining.delete(member))) {
        room.replayedUpTo.delete(member);
        this.afterDeparture(room);
      }
    }
  }

  private afterDeparture(room: LocalRoom): void {
    if (room.localCount === 0 && this.rooms.get(room.name) === room) {
      this.rooms.delete(room.name);
      clearTimeout(room.presenceFrameTimer);
      clearTimeout(room.presenceWriteTimer);
      if (room.subscription) void this.options.broker.unsubscribe(room.name).catch(() => undefined);
      void this.options.broker.presence(room.name, 0).catch(() => undefined);
      return;
    }
    room.presenceWriteTimer ??= setTimeout(() => {
      room.presenceWriteTimer = undefined;
      void this.writePresence(room).catch(() => undefined);
    }, PRESENCE_WRITE_DELAY_MS);
  }

  private writePresence(room: LocalRoom): Promise<number> {
    return this.options.broker.presence(room.name, room.localCount);
  }

  /** Every few seconds: keep this member's presence entries from expiring, and expire dead members'. */
  private refreshPresence(): void {
    if (!this.options.broker.ready) return;
    for (const room of this.rooms.values()) void this.writePresence(room).catch(() => undefined);
  }

  /** An event from the bus for a room this member subscribes to. */
  onEvent(name: string, event: BusEvent): void {
    const room = this.rooms.get(name);
    if (!room) return;
    if (event.kind === 'presence') {
      room.members = event.members;
      room.presenceEvents++;
      this.schedulePresenceFrame(room);
      return;
    }
    if (room.catchingUp) room.catchingUp.push(event.delivery);
    else this.fanOut(room, event.delivery);
  }

  private fanOut(room: LocalRoom, delivery: Delivery): void {
    room.lastId = maxId(room.lastId, delivery.id);
    for (const held of room.joining.values()) held.push(delivery);
    if (room.live.size === 0) return;
    const shared = encodeTextFrame(delivery.frame);
    const marks = room.replayedUpTo;
    for (const member of room.live) {
      if (marks.size > 0) {
        const mark = marks.get(member);
        if (mark !== undefined) {
          if (compareIds(delivery.id, mark) <= 0) continue; // already had it from its replay
          marks.delete(member);
        }
      }
      if (delivery.senderConnection === member.id && delivery.ref !== undefined) {
        member.sendText(withRef(delivery.frame, delivery.ref));
      } else {
        member.writeFrame(shared);
      }
    }
    const { metrics } = this.options;
    metrics.messagesDelivered.inc(room.live.size);
    const ts = Number(delivery.frame.slice(delivery.frame.lastIndexOf('"ts":') + 5, delivery.frame.lastIndexOf(',"origin"')));
    if (ts > 0) metrics.deliveryLatency.observe(Math.max(0, Date.now() - ts) / 1000);
  }

  private frameFor(member: Member, delivery: Delivery): string {
    return delivery.senderConnection === member.id && delivery.ref !== undefined
      ? withRef(delivery.frame, delivery.ref)
      : delivery.frame;
  }

  private schedulePresenceFrame(room: LocalRoom): void {
    if (room.presenceFrameTimer) return;
    room.presenceFrameTimer = setTimeout(() => {
      room.presenceFrameTimer = undefined;
      // Events come only when the total changed (the presence script publishes changes).
      if (room.live.size === 0) return;
      room.presenceSent = room.members;
      const frame = encodeTextFrame(presenceFrame(room.name, room.members));
      for (const member of room.live) member.writeFrame(frame);
    }, PRESENCE_FRAME_INTERVAL_MS);
  }

  /**
   * The bus connection was lost: joins under way must not complete. With
   * `rooms`, only their subscriptions were lost (one shard of a cluster): they
   * hold what arrives until they caught up, and joins elsewhere go on.
   */
  onLost(rooms?: string[]): void {
    if (rooms === undefined) this.outages++;
    for (const room of this.named(rooms)) room.catchingUp ??= [];
  }

  /** The rooms named, or all of them. */
  private named(names: string[] | undefined): LocalRoom[] {
    if (names === undefined) return [...this.rooms.values()];
    return names.map((name) => this.rooms.get(name)).filter((room): room is LocalRoom => room !== undefined);
  }

  /**
   * The bus is back and every room resubscribed: each room reads what was
   * published while it could not hear, delivers what it has not, then
   * releases what arrived live meanwhile.
   */
  async onResumed(rooms?: string[]): Promise<void> {
    await Promise.all(this.named(rooms).map((room) => this.catchUp(room)));
  }

  /** One catch-up per room at a time: a second resume runs after the first, from where it ended. */
  private catchUp(room: LocalRoom): Promise<void> {
    const previous = room.catchUpRunning ?? Promise.resolve();
    const next = previous.then(() => this.catchUpOnce(room));
    room.catchUpRunning = next.finally(() => {
      if (room.catchUpRunning === next) room.catchUpRunning = undefined;
    });
    return next;
  }

  private async catchUpOnce(room: LocalRoom): Promise<void> {
    room.catchingUp ??= [];
    try {
      void this.writePresence(room).catch(() => undefined);
      if (room.lastId !== undefined && room.live.size > 0) {
        const history = await this.options.broker.history(room.name, { since: room.lastId });
        if (!history.recovered) {
          this.options.logger.warn({ room: room.name, since: room.lastId }, 'history trimmed during outage; members missed messages');
        }
        for (const message of history.messages) {
          if (compareIds(message.id, room.lastId!) > 0) this.fanOut(room, { id: message.id, frame: message.frame });
        }
        // The live copies of what was just replayed may still be on their way.
        for (const member of room.live) room.replayedUpTo.set(member, maxId(room.replayedUpTo.get(member), room.lastId)!);
      }
    } catch (error) {
      // Live messages stay held; try again shortly unless the room is gone.
      this.options.logger.warn({ room: room.name, err: (error as Error).message }, 'catch-up failed; retrying');
      setTimeout(() => {
        if (this.rooms.get(room.name) === room && this.options.broker.ready) void this.catchUp(room);
      }, 1000).unref();
      return;
    }
    const held = room.catchingUp;
    room.catchingUp = undefined;
    for (const delivery of held) {
      if (room.lastId === undefined || compareIds(delivery.id, room.lastId) > 0) this.fanOut(room, delivery);
    }
  }

  close(): void {
    clearInterval(this.refreshTimer);
    for (const room of this.rooms.values()) {
      clearTimeout(room.presenceFrameTimer);
      clearTimeout(room.presenceWriteTimer);
    }
  }

  /** Sets this member's count to zero in every room, so others see it leave at once. */
  async clearPresence(): Promise<void> {
    await Promise.allSettled([...this.rooms.keys()].map((name) => this.options.broker.presence(name, 0)));
  }
}
