// The rooms this instance has local members in, and the fan-out to them.
//
// An instance subscribes to a room's channel only while it has local members
// in the room. Each message arrives once per instance, is framed once, and the
// same bytes go to every local member. A joining member gets its history and
// the live messages that arrived meanwhile without a gap or a duplicate: the
// subscription exists before history is read, live messages are held while it
// is read and replayed, and only those newer than what it replayed are
// released. A replay is paced by the member's reading (Member.sendPaced).
//
// Everything the room knows comes from the server: a client's `since` chooses
// what that member is replayed, never the room's state. The room's lifecycle
// is the state machine in room.ts.
import type { Bus, Headcount, HistoryQuery, HistoryRead } from '../bus/types.js';
import { BusUnavailableError } from '../bus/types.js';
import type { BusEvent, Delivery } from '../bus/payload.js';
import { compareIds, maxId } from '../protocol/ids.js';
import { gapFrame, joinedFrame, leftFrame, presenceFrame, withRef } from '../protocol/encode.js';
import { encodeTextFrame } from '../server/frameWriter.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { FailureSummary } from '../logSummary.js';
import {
  CATCH_UP_BUFFER_MAX,
  CATCH_UP_CONCURRENCY,
  CATCH_UP_RETRY_MS,
  JOIN_HOLD_MAX,
  PRESENCE_FRAME_INTERVAL_MS,
  PRESENCE_REFRESH_MS,
  PRESENCE_WRITE_DELAY_MS,
} from '../constants.js';
import { Room, type Member } from './room.js';

export type { Member } from './room.js';

export interface RegistryOptions {
  bus: Bus;
  joinHistory: number;
  logger: Logger;
  metrics: Metrics;
}

/** Runs `work` for each item, at most `limit` at a time. */
async function eachLimited<T>(items: Iterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();
  /** Counts connection losses, so a join that spans one can tell. */
  private outages = 0;
  private readonly heartbeatTimer: NodeJS.Timeout;
  private readonly failures: FailureSummary;

  constructor(private readonly options: RegistryOptions) {
    this.failures = new FailureSummary(options.logger);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), PRESENCE_REFRESH_MS);
    this.heartbeatTimer.unref();
  }

  get size(): number {
    return this.rooms.size;
  }

  private room(name: string): Room {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name);
      this.rooms.set(name, room);
    }
    return room;
  }

  /**
   * Joins a member: subscribe, count it, read history, then send `joined`, the
   * replay and the held live messages. Resolves to the number of messages
   * replayed. Throws BusUnavailableError when the bus is down or goes down
   * meanwhile; the member is then not in the room.
   */
  async join(member: Member, name: string, since: string | undefined, epoch?: string): Promise<number> {
    const { bus, joinHistory } = this.options;
    const room = this.room(name);
    room.addJoining(member);
    const outagesAtStart = this.outages;
    try {
      await this.subscribed(room);
      const written = await this.writePresence(room);
      const query: HistoryQuery = since === undefined ? { last: joinHistory } : epoch ? { since, epoch } : { since };
      const history = await bus.history.read(name, query);
      if (room.heldFor(member) === undefined || !member.open) return 0; // left or went away meanwhile
      if (this.outages !== outagesAtStart) throw new BusUnavailableError('connection to the bus lost during join');
      if (history.epoch !== '') room.epoch ??= history.epoch;

      // Presence frames go to live members only: a change heard while this member
      // was joining reaches it through its `joined`, one heard during its replay
      // once it is live.
      const told = room.newestHeadcount(written);
      member.sendText(joinedFrame(name, told.members, history.recovered, history.epoch, told.users));
      if (!(await this.replay(member, room, history))) return history.messages.length;
      // The member is complete up to the newest id of the history it read (all
      // of it was replayed, or it asked for only the last few), then up to the
      // newest held delivery released to it.
      let last = history.head;
      for (const delivery of room.heldFor(member)!) {
        if (compareIds(delivery.id, last) <= 0) continue;
        member.sendText(this.frameFor(member, delivery));
        last = delivery.id;
      }
      room.goLive(member, last);
      const now = room.newestHeadcount(told);
      if (now !== told) member.sendText(presenceFrame(name, now.members, now.users));
      return history.messages.length;
    } catch (error) {
      room.remove(member);
      this.afterDeparture(room);
      throw error;
    }
  }

  /** Writes the replay at the pace the member reads it; false when the member left or was closed meanwhile. */
  private async replay(member: Member, room: Room, history: HistoryRead): Promise<boolean> {
    for (const message of history.messages) {
      const paced = member.sendPaced(message.frame);
      if (paced === undefined) continue;
      await paced;
      const held = room.heldFor(member);
      if (held === undefined || !member.open) return false;
      if (held.length > JOIN_HOLD_MAX) {
        member.tooSlow();
        return false;
      }
    }
    return room.heldFor(member) !== undefined && member.open;
  }

  /** The room's subscription, made once; a failed one is made again by the next join. */
  private subscribed(room: Room): Promise<void> {
    if (room.state.phase !== 'subscribing') return Promise.resolve();
    room.state.subscription ??= this.options.bus.broker.subscribe(room.name).then(
      () => {
        if (room.state.phase === 'subscribing') room.move({ phase: 'inSync' });
      },
      (error: unknown) => {
        if (room.state.phase === 'subscribing') room.state.subscription = undefined;
        throw error;
      },
    );
    return room.state.subscription;
  }

  /** Returns false when the member was not in the room. */
  leave(member: Member, name: string): boolean {
    const room = this.rooms.get(name);
    if (!room || !room.remove(member)) return false;
    member.sendText(leftFrame(name));
    this.afterDeparture(room);
    return true;
  }

  /** A connection went away: it leaves every room without a `left` frame. */
  drop(member: Member, names: Iterable<string>): void {
    for (const name of names) {
      const room = this.rooms.get(name);
      if (room && room.remove(member)) this.afterDeparture(room);
    }
  }

  private afterDeparture(room: Room): void {
    if (room.localCount === 0 && this.rooms.get(room.name) === room) {
      this.rooms.delete(room.name);
      const wasSubscribed = room.state.phase !== 'subscribing' || room.state.subscription !== undefined;
      room.move({ phase: 'closed' });
      if (wasSubscribed) void this.options.bus.broker.unsubscribe(room.name).catch(() => undefined);
      void this.options.bus.presence.update(room.name, 0).catch(() => undefined);
      return;
    }
    room.presence.writeTimer ??= setTimeout(() => {
      room.presence.writeTimer = undefined;
      void this.writePresence(room).catch(() => undefined);
    }, PRESENCE_WRITE_DELAY_MS);
  }

  private writePresence(room: Room): Promise<Headcount> {
    return this.options.bus.presence.update(room.name, room.localCount, room.localUsers);
  }

  /** One presence heartbeat for the instance; rooms whose counts were taken for dead are written again. */
  private async heartbeat(): Promise<void> {
    if (!this.options.bus.broker.ready) return;
    try {
      const rewrite = await this.options.bus.presence.heartbeat(() => this.rooms.keys());
      await eachLimited(rewrite, CATCH_UP_CONCURRENCY, async (name) => {
        const room = this.rooms.get(name);
        if (room) await this.writePresence(room);
      });
    } catch (error) {
      this.failures.note('presence heartbeat failed', { err: (error as Error).message });
    }
  }

  /** An event from the bus for a room this instance subscribes to. */
  onEvent(name: string, event: BusEvent): void {
    const room = this.rooms.get(name);
    if (!room) return;
    if (event.kind === 'presence') {
      room.presence.members = event.members;
      room.presence.users = event.users;
      room.presence.version = event.version;
      this.schedulePresenceFrame(room);
      return;
    }
    if (room.state.phase !== 'outOfSync') return this.fanOut(room, event.delivery);
    room.state.held.push(event.delivery);
    // Past the cap the room stops holding: its members are told they missed messages.
    if (room.state.held.length > CATCH_UP_BUFFER_MAX) this.gap(room, 'catch-up buffer full');
  }

  private fanOut(room: Room, delivery: Delivery): void {
    room.position = maxId(room.position, delivery.id);
    let shared: Buffer | undefined;
    let delivered = 0;
    for (const [member, state] of room.members) {
      if (state.phase === 'joining') {
        state.held.push(delivery);
        continue;
      }
      if (state.skipUpTo !== undefined) {
        if (compareIds(delivery.id, state.skipUpTo) <= 0) continue; // already had it from its replay
        state.skipUpTo = undefined;
      }
      if (delivery.senderConnection === member.id && delivery.ref !== undefined) {
        member.sendText(withRef(delivery.frame, delivery.ref));
      } else {
        member.writeFrame((shared ??= encodeTextFrame(delivery.frame)));
      }
      delivered++;
    }
    if (delivered === 0) return;
    const { metrics } = this.options;
    metrics.messagesDelivered.inc(delivered);
    const ts = Number(delivery.frame.slice(delivery.frame.lastIndexOf('"ts":') + 5, delivery.frame.lastIndexOf(',"origin"')));
    if (ts > 0) metrics.deliveryLatency.observe(Math.max(0, Date.now() - ts) / 1000);
  }

  private frameFor(member: Member, delivery: Delivery): string {
    return delivery.senderConnection === member.id && delivery.ref !== undefined
      ? withRef(delivery.frame, delivery.ref)
      : delivery.frame;
  }

  /**
   * The room's history is broken after what its members have (trimmed past
   * it, a new epoch, or more held than the cap): every member is dropped with
   * a `gap` frame (the client joins again, with since, and is told
   * recovered:false), and the room closes.
   */
  private gap(room: Room, reason: string): void {
    this.failures.note('members told of a gap in a room history', { room: room.name, reason, members: room.localCount });
    const frame = gapFrame(room.name);
    for (const member of [...room.members.keys()]) {
      room.remove(member);
      member.rooms.delete(room.name);
      member.sendText(frame);
    }
    this.afterDeparture(room);
  }

  private schedulePresenceFrame(room: Room): void {
    if (room.presence.frameTimer) return;
    room.presence.frameTimer = setTimeout(() => {
      room.presence.frameTimer = undefined;
      // Events come only when the total changed (the presence script publishes changes).
      const frame = encodeTextFrame(presenceFrame(room.name, room.presence.members, room.presence.users));
      for (const [member, state] of room.members) if (state.phase === 'live') member.writeFrame(frame);
    }, PRESENCE_FRAME_INTERVAL_MS);
  }

  /**
   * The bus connection was lost: joins under way must not complete, and every
   * room holds what arrives until it caught up. With `rooms`, only their
   * subscriptions were lost (one shard of a Redis Cluster): only they hold and
   * catch up, and joins go on (a member joining one of them goes live from the
   * history it read; the room's catch-up covers the rest).
   */
  onLost(rooms?: string[]): void {
    if (rooms === undefined) this.outages++;
    for (const room of this.named(rooms)) {
      if (room.state.phase === 'inSync') room.move({ phase: 'outOfSync', held: [], catchUp: undefined, hearing: false, resumes: 0 });
      // Lost again while catching up: the catch-up under way must not end it.
      else if (room.state.phase === 'outOfSync') room.state.hearing = false;
    }
  }

  /** The rooms named, or all of them. */
  private named(names: string[] | undefined): Room[] {
    if (names === undefined) return [...this.rooms.values()];
    return names.map((name) => this.rooms.get(name)).filter((room): room is Room => room !== undefined);
  }

  /**
   * The bus is back and every room resubscribed: each room reads what was
   * published while it could not hear, delivers what it has not, then
   * releases what arrived live meanwhile. A few rooms at a time, so a
   * thousand rooms do not hit Redis at once.
   */
  async onResumed(rooms?: string[]): Promise<void> {
    const resumed = this.named(rooms);
    for (const room of resumed) {
      if (room.state.phase !== 'outOfSync') continue;
      room.state.hearing = true;
      room.state.resumes++;
    }
    await eachLimited(resumed, CATCH_UP_CONCURRENCY, (room) => this.catchUp(room));
  }

  /** One catch-up per room at a time: a second resume waits for the first. */
  private catchUp(room: Room): Promise<void> {
    if (room.state.phase !== 'outOfSync') return Promise.resolve();
    const state = room.state;
    state.catchUp ??= (async () => {
      // Resumed again while reading: what was published since may not be in that read.
      let resumes: number;
      do {
        resumes = state.resumes;
        await this.catchUpOnce(room);
      } while (room.state === state && state.resumes !== resumes);
    })().finally(() => {
      state.catchUp = undefined;
    });
    return state.catchUp;
  }

  private async catchUpOnce(room: Room): Promise<void> {
    void this.writePresence(room).catch(() => undefined);
    const from = room.position;
    if (from !== undefined && room.liveCount > 0) {
      let history: HistoryRead;
      try {
        history = await this.options.bus.history.read(room.name, room.epoch ? { since: from, epoch: room.epoch } : { since: from });
      } catch (error) {
        // Live messages stay held; try again shortly unless the room is gone.
        this.failures.note('room catch-up failed; retrying', { room: room.name, err: (error as Error).message });
        setTimeout(() => {
          if (this.rooms.get(room.name) === room && this.options.bus.broker.ready) void this.catchUp(room);
        }, CATCH_UP_RETRY_MS).unref();
        return;
      }
      if (room.state.phase !== 'outOfSync') return; // closed meanwhile
      if (!history.recovered) return this.gap(room, 'history broken during the outage');
      for (const message of history.messages) {
        if (compareIds(message.id, from) > 0) this.fanOut(room, { id: message.id, frame: message.frame });
      }
      // The live copies of what was just replayed may still be on their way.
      room.skipLiveUpTo(room.position!);
    }
    if (room.state.phase !== 'outOfSync' || !room.state.hearing) return;
    const held = room.state.held;
    room.move({ phase: 'inSync' });
    for (const delivery of held) {
      if (room.position === undefined || compareIds(delivery.id, room.position) > 0) this.fanOut(room, delivery);
    }
  }

  close(): void {
    clearInterval(this.heartbeatTimer);
    this.failures.close();
    for (const room of this.rooms.values()) room.stopTimers();
  }

  /** Sets this instance's count to zero in every room, so others see it leave at once. */
  async clearPresence(): Promise<void> {
    await eachLimited([...this.rooms.keys()], CATCH_UP_CONCURRENCY, (name) => this.options.bus.presence.update(name, 0).then(() => undefined, () => undefined));
  }
}
