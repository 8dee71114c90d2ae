// One room on this instance: its members, and the state machine of its link
// to the bus. Every transition of the room goes through `move`, which refuses
// any that is not in TRANSITIONS:
//
//   subscribing ──subscribed──▶ inSync ──bus lost──▶ outOfSync
//        │                        ▲                      │
//        │                        └─────caught up────────┘
//        └──────────────── last member gone (any phase) ──▶ closed
//
// `position` is the newest id every live member here is complete up to. Only
// the server moves it (ids that were fanned out, and the history a member
// read); what a client asks for with `since` never does. A catch-up that finds
// the history broken after `position` (trimmed past it, or a new epoch) drops
// every member with a `gap` frame and closes the room.
import type { Delivery } from '../bus/payload.js';
import type { Headcount } from '../bus/types.js';
import { compareIds, maxId } from '../protocol/ids.js';

/** What a room needs of a connection. */
export interface Member {
  readonly id: string;
  /** AUTH_MODE=jwt: the user (token `sub`) the connection belongs to. */
  readonly user?: string;
  readonly open: boolean;
  /** The rooms the connection is in; a room that drops the member (a gap) removes itself. */
  readonly rooms: Set<string>;
  writeFrame(frame: Buffer): void;
  sendText(text: string): void;
  /** Sends a replayed frame; resolves (when not undefined) once the client has read enough to go on. */
  sendPaced(text: string): Promise<void> | undefined;
  /** Closes the connection as a client too slow to read (1013). */
  tooSlow(): void;
}

export type RoomState =
  /** The subscription to the room's channel is being made (or failed and will be made by the next join). */
  | { phase: 'subscribing'; subscription: Promise<void> | undefined }
  /** Subscribed; deliveries go straight to the members. */
  | { phase: 'inSync' }
  /**
   * The bus was lost: deliveries are held until the room has read what it
   * missed. `hearing`: subscribed again (a catch-up that ends while the room
   * cannot hear leaves it out of sync); `resumes` counts the times it was, so a
   * resume during a catch-up brings another read.
   */
  | { phase: 'outOfSync'; held: Delivery[]; catchUp: Promise<void> | undefined; hearing: boolean; resumes: number }
  | { phase: 'closed' };

export type Phase = RoomState['phase'];

const TRANSITIONS: Record<Phase, readonly Phase[]> = {
  subscribing: ['inSync', 'closed'],
  inSync: ['outOfSync', 'closed'],
  outOfSync: ['inSync', 'closed'],
  closed: [],
};

export type MemberState =
  /** Reading its history; live deliveries are held for it meanwhile. */
  | { phase: 'joining'; held: Delivery[] }
  /** Receives live deliveries, skipping those up to `skipUpTo` that its replay already gave it. */
  | { phase: 'live'; skipUpTo: string | undefined };

export class Room {
  state: RoomState = { phase: 'subscribing', subscription: undefined };
  readonly members = new Map<Member, MemberState>();
  position: string | undefined;
  /** The room's history epoch as last read here; undefined until a read found one. */
  epoch: string | undefined;
  liveCount = 0;
  /** Local connections per user (AUTH_MODE=jwt), for the distinct users of presence. */
  private readonly connectionsOf = new Map<string, number>();
  readonly presence = {
    /** The last headcount heard on the room's channel (events come in the order Redis published them). */
    members: 0,
    users: 0,
    version: 0,
    frameTimer: undefined as NodeJS.Timeout | undefined,
    writeTimer: undefined as NodeJS.Timeout | undefined,
  };

  constructor(readonly name: string) {}

  /** The one place the room's phase changes. */
  move(next: RoomState): void {
    if (!TRANSITIONS[this.state.phase].includes(next.phase)) {
      throw new Error(`room ${this.name}: no transition from ${this.state.phase} to ${next.phase}`);
    }
    if (next.phase === 'closed') this.stopTimers();
    this.state = next;
  }

  get localCount(): number {
    return this.members.size;
  }

  /** The distinct users of the local members (those that have one). */
  get localUsers(): string[] {
    return [...this.connectionsOf.keys()];
  }

  addJoining(member: Member): void {
    this.members.set(member, { phase: 'joining', held: [] });
    if (member.user !== undefined) this.connectionsOf.set(member.user, (this.connectionsOf.get(member.user) ?? 0) + 1);
  }

  /**
   * The newer of a headcount a join was answered with and the last one heard
   * on the channel (the answer and the event travel on different connections).
   */
  newestHeadcount(written: Headcount): Headcount {
    return this.presence.version > written.version ? { ...this.presence } : written;
  }

  /** The deliveries held for a joining member, or undefined when it is no longer joining. */
  heldFor(member: Member): Delivery[] | undefined {
    const state = this.members.get(member);
    return state?.phase === 'joining' ? state.held : undefined;
  }

  /** The member has everything up to `upTo` and now takes live deliveries. */
  goLive(member: Member, upTo: string): void {
    this.members.set(member, { phase: 'live', skipUpTo: upTo });
    this.liveCount++;
    this.position = this.position === undefined || compareIds(upTo, this.position) < 0 ? upTo : this.position;
  }

  /** Returns false when the member was not in the room. */
  remove(member: Member): boolean {
    const state = this.members.get(member);
    if (state === undefined) return false;
    this.members.delete(member);
    if (member.user !== undefined) {
      const left = (this.connectionsOf.get(member.user) ?? 1) - 1;
      if (left > 0) this.connectionsOf.set(member.user, left);
      else this.connectionsOf.delete(member.user);
    }
    if (state.phase === 'live') this.liveCount--;
    return true;
  }

  /** After a catch-up replay: live copies of what it replayed may still arrive. */
  skipLiveUpTo(id: string): void {
    for (const state of this.members.values()) if (state.phase === 'live') state.skipUpTo = maxId(state.skipUpTo, id);
  }

  stopTimers(): void {
    clearTimeout(this.presence.frameTimer);
    clearTimeout(this.presence.writeTimer);
    this.presence.frameTimer = undefined;
    this.presence.writeTimer = undefined;
  }
}
