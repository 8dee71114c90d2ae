// Sharded pub/sub in a Redis Cluster: SSUBSCRIBE to each room's channel on a
// subscriber connection to the primary that serves the room's slot, one
// connection per primary.
//
// A room's subscription is lost when its primary's connection closes (the node
// died), or when the node stops serving the slot (failover or migration: the
// node then drops the channel and tells us with a `sunsubscribe` we did not ask
// for). Each lost room is reported, resubscribed on whoever serves the slot in
// the cluster's current slot map, and reported resumed, so that the room
// catches up from history: nothing published in between is missed. A room is
// never subscribed on two connections at once (the old subscription ends
// before the new one starts), so nothing arrives twice either.
//
// ioredis' own `shardedSubscribers` resubscribes too, but says nothing about
// when a room could not hear, which is what the catch-up needs.
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { keys, roomOfChannel } from './keys.js';

import { REDIS_CLUSTER_TIMING } from '../constants.js';

const { resubscribeRetryMs: RETRY_MS, subscribeTimeoutMs: SUBSCRIBE_TIMEOUT_MS } = REDIS_CLUSTER_TIMING;

export interface ShardedSubscriptionsOptions {
  /** The command client: its slot map says which primary serves a room. */
  cluster: Cluster;
  /** A subscriber connection to one node ("host:port"), not yet connected. */
  connect(node: string): Redis;
  logger: Logger;
  message(room: string, payload: string): void;
  /** These rooms stopped hearing their channel (live messages must be held). */
  lost(rooms: string[], reason: string): void;
  /** These rooms hear their channel again: they must catch up from history. */
  resumed(rooms: string[]): void;
}

/**
 * A room's subscription, one state at a time:
 *   joining   first SSUBSCRIBE pending; the caller of subscribe() waits for it
 *   live      subscribed on `link`
 *   lost      not subscribed anywhere; will be subscribed and reported resumed
 */
type RoomState =
  | { kind: 'joining'; settle: (error?: Error) => void }
  | { kind: 'live'; link: Link }
  | { kind: 'lost' };

interface Room {
  name: string;
  channel: string;
  slot: number;
  state: RoomState;
}

/** A subscriber connection to one primary. */
interface Link {
  node: string;
  redis: Redis;
  ready: boolean;
}

export class ShardedSubscriptions {
  private readonly rooms = new Map<string, Room>();
  private readonly links = new Map<string, Link>();
  private running: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ShardedSubscriptionsOptions) {
    // Every slot-map refresh (periodic, or after MOVED) may move rooms.
    options.cluster.on('refresh', () => this.reconcile());
  }

  /** Resolves once the room's channel is subscribed on the primary serving it. */
  subscribe(name: string): Promise<void> {
    if (this.rooms.has(name)) return Promise.resolve();
    const channel = keys.channel(name);
    return new Promise<void>((resolve, reject) => {
      const room: Room = {
        name,
        channel,
        slot: calculateSlot(channel),
        state: {
          kind: 'joining',
          settle: (error) => {
            if (!error) return resolve();
            if (this.rooms.get(name) === room) this.rooms.delete(name);
            reject(error);
          },
        },
      };
      this.rooms.set(name, room);
      const timer = setTimeout(() => {
        if (room.state.kind === 'joining') room.state.settle(new Error('sharded subscription not confirmed in time'));
      }, SUBSCRIBE_TIMEOUT_MS);
      timer.unref();
      this.reconcile();
    });
  }

  async unsubscribe(name: string): Promise<void> {
    const room = this.rooms.get(name);
    if (!room) return;
    this.rooms.delete(name);
    if (room.state.kind === 'joining') room.state.settle(new Error('unsubscribed while subscribing'));
    if (room.state.kind === 'live' && room.state.link.ready) await room.state.link.redis.sunsubscribe(room.channel).catch(() => undefined);
  }

  /** The subscriber connections open now (their credentials are renewed with the others'). */
  connections(): Redis[] {
    return [...this.links.values()].map((link) => link.redis);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await Promise.allSettled([...this.links.values()].map((link) => link.redis.quit()));
    for (const link of this.links.values()) link.redis.disconnect();
    this.links.clear();
  }

  /** The primary serving a slot in the client's slot map, or undefined while it has none. */
  private ownerOf(slot: number): string | undefined {
    return this.options.cluster.slots[slot]?.[0];
  }

  private link(node: string): Link {
    const existing = this.links.get(node);
    if (existing) return existing;
    const redis = this.options.connect(node);
    const link: Link = { node, redis, ready: false };
    this.links.set(node, link);
    redis.on('smessage', (channel: string, payload: string) => {
      const room = roomOfChannel(channel);
      if (room !== undefined) this.options.message(room, payload);
    });
    redis.on('ready', () => {
      link.ready = true;
      this.reconcile();
    });
    redis.on('close', () => {
      const wasReady = link.ready;
      link.ready = false;
      if (wasReady) this.dropLink(link, 'subscriber connection closed');
    });
    redis.on('error', (error: Error) => this.onLinkError(link, error));
    void redis.connect().catch(() => undefined);
    return link;
  }

  /**
   * A node that stops serving a slot pushes `sunsubscribe` for its channels,
   * which ioredis did not ask for and reports as a command queue error. When
   * it names one of our channels, that room is lost; any other such error means
   * replies and commands may be mismatched, so the connection is started over.
   */
  private onLinkError(link: Link, error: Error): void {
    const pushed = /Last reply: sunsubscribe,([^,]+),/.exec(error.message);
    if (pushed) {
      const room = this.rooms.get(roomOfChannel(pushed[1]) ?? '');
      if (room?.state.kind === 'live' && room.state.link === link) this.markLost([room], 'slot no longer served by this node');
      this.options.cluster.refreshSlotsCache();
      this.reconcile();
      return;
    }
    if (error.message.startsWith('Command queue state error')) {
      this.options.logger.warn({ node: link.node, err: error.message }, 'subscriber replies out of step; reconnecting');
      link.redis.disconnect(true);
      return;
    }
    this.options.logger.warn({ node: link.node, err: error.message }, 'redis subscriber error');
  }

  /** Every room live on the link is lost; the slot map is refreshed to find where they went. */
  private dropLink(link: Link, reason: string): void {
    const rooms = [...this.rooms.values()].filter((room) => room.state.kind === 'live' && room.state.link === link);
    this.markLost(rooms, reason);
    if (!this.closed) this.options.cluster.refreshSlotsCache();
    this.reconcile();
  }

  private markLost(rooms: Room[], reason: string): void {
    if (rooms.length === 0) return;
    for (const room of rooms) room.state = { kind: 'lost' };
    this.options.logger.warn({ rooms: rooms.length, reason }, 'sharded subscriptions lost; resubscribing');
    this.options.lost(
      rooms.map((room) => room.name),
      reason,
    );
  }

  /** Brings every room to its slot's current primary; one pass at a time, another after it when asked meanwhile. */
  private reconcile(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.reconcile();
      }
    });
  }

  private async pass(): Promise<void> {
    const moving: Room[] = [];
    const pending: Array<{ room: Room; link: Link }> = [];
    for (const room of this.rooms.values()) {
      const owner = this.ownerOf(room.slot);
      if (room.state.kind === 'live') {
        if (room.state.link.node === owner && room.state.link.ready) continue;
        if (owner !== undefined) moving.push(room);
        continue;
      }
      if (owner !== undefined) pending.push({ room, link: this.link(owner) });
    }

    // A room that moved: end the old subscription first, so its last messages
    // arrive before the room is reported lost and none arrive after.
    if (moving.length > 0) {
      await Promise.all(
        moving.map(async (room) => {
          const { link } = room.state as { link: Link };
          if (!link.ready) return;
          const ended = await this.bounded(link, link.redis.sunsubscribe(room.channel)).then(
            () => true,
            () => false,
          );
          // Unsure whether it ended: the connection goes, so nothing more can come from it.
          if (!ended) link.redis.disconnect(true);
        }),
      );
      this.markLost(
        moving.filter((room) => room.state.kind === 'live'),
        'slot moved to another primary',
      );
      for (const room of moving) if (this.rooms.get(room.name) === room) pending.push({ room, link: this.link(this.ownerOf(room.slot)!) });
    }

    const resumed: string[] = [];
    let failed = false;
    await Promise.all(
      pending.map(async ({ room, link }) => {
        if (!link.ready) return void (failed = true);
        try {
          await this.bounded(link, link.redis.ssubscribe(room.channel));
        } catch (error) {
          failed = true;
          // MOVED: our slot map is behind; a refresh brings the next pass.
          if (/^MOVED /.test((error as Error).message)) this.options.cluster.refreshSlotsCache();
          if (room.state.kind === 'joining') room.state.settle(error as Error);
          return;
        }
        if (this.rooms.get(room.name) !== room) {
          // Left while subscribing.
          await this.bounded(link, link.redis.sunsubscribe(room.channel)).catch(() => undefined);
          return;
        }
        const was = room.state;
        room.state = { kind: 'live', link };
        if (was.kind === 'joining') was.settle();
        else resumed.push(room.name);
      }),
    );
    // A first subscription fails fast (the join is answered `unavailable`); a lost room keeps trying.
    for (const room of this.rooms.values()) {
      if (room.state.kind === 'joining' && this.ownerOf(room.slot) === undefined) room.state.settle(new Error('no primary serves the room\'s slot'));
    }
    this.dropIdleLinks();
    if (resumed.length > 0) this.options.resumed(resumed);
    if (failed || [...this.rooms.values()].some((room) => room.state.kind === 'lost')) this.retrySoon();
  }

  /**
   * A subscriber command's answer, or a failure after SUBSCRIBE_TIMEOUT_MS that
   * also starts the connection over: a reply that never comes (taken by a
   * pushed `sunsubscribe`) must not stall every later pass.
   */
  private bounded<T>(link: Link, command: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        link.redis.disconnect(true);
        reject(new Error(`no answer from ${link.node} within ${SUBSCRIBE_TIMEOUT_MS} ms`));
      }, SUBSCRIBE_TIMEOUT_MS);
    });
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  }

  private retrySoon(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reconcile();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** Connections to nodes that no longer serve any of our rooms are closed. */
  private dropIdleLinks(): void {
    const used = new Set<string>();
    for (const room of this.rooms.values()) {
      if (room.state.kind === 'live') used.add(room.state.link.node);
      const owner = this.ownerOf(room.slot);
      if (owner !== undefined) used.add(owner);
    }
    for (const [node, link] of this.links) {
      if (used.has(node)) continue;
      this.links.delete(node);
      link.redis.disconnect();
    }
  }
}
