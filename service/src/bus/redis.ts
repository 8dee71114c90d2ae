// The Redis broker: one connection for commands and scripts, one for
// subscriptions, and the heartbeat that tells whether Redis answers. It
// subscribes to a room's channel only while this instance has local members in
// it. Commands fail fast while Redis is away (no offline queue): the caller
// answers `unavailable` instead of queueing without bound. The history reader
// and the presence manager run their scripts on its command connection.
import { Redis, type RedisCommander, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.js';
import { APPEND_AND_PUBLISH, READ_HISTORY, RedisHistory } from '../history/redisStream.js';
import { RedisPresence, UPDATE_PRESENCE } from '../presence/redisPresence.js';
import { REDIS_TIMING } from '../constants.js';
import { holdWrites } from '../cork.js';
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
import { keys, roomOfChannel } from './keys.js';
import { PayloadDecoder } from './payload.js';
import { BusUnavailableError, type Broker, type BrokerHandlers, type Bus, type MessageDraft } from './types.js';

/** The scripts defined on the command connection. */
export interface ChatCommands {
  chatAppend(stream: string, trimmed: string, channel: string, maxLen: number, prefix: string, suffix: string, header: string, deadline: number): Promise<string>;
  chatHistory(stream: string, trimmed: string, mode: 'since' | 'last', arg: string | number, max: number): Promise<[string, string, string[]]>;
  chatPresence(hash: string, total: string, instance: string, count: number, ttl: number, channel: string): Promise<number>;
}
/** A connection to one Redis, or an ioredis Cluster (REDIS_MODE=cluster), with the scripts defined. */
export type ChatRedis = RedisCommander & ChatCommands;

/**
 * Defines the scripts on a client. `sharded` rewrites what they PUBLISH for a
 * Redis Cluster (bus/clusterClient.ts).
 */
export function defineChatScripts(client: Pick<Redis, 'defineCommand'>, publish: (lua: string) => string = (lua) => lua): void {
  client.defineCommand('chatAppend', { numberOfKeys: 2, lua: publish(APPEND_AND_PUBLISH) });
  client.defineCommand('chatHistory', { numberOfKeys: 2, lua: READ_HISTORY });
  client.defineCommand('chatPresence', { numberOfKeys: 2, lua: publish(UPDATE_PRESENCE) });
}

/** Appends a message and publishes it; `heartbeat` supplies the deadline in Redis' clock. */
export async function appendAndPublish(commands: ChatRedis, draft: MessageDraft, historyLimit: number, heartbeat: Heartbeat): Promise<string> {
  const { room } = draft;
  try {
    return await commands.chatAppend(
      keys.history(room),
      keys.trimmed(room),
      keys.channel(room),
      historyLimit,
      draft.framePrefix,
      draft.frameSuffix,
      draft.headerTail,
      // None until the clock offset is known (the first second after connecting).
      heartbeat.redisTime(T.commandTimeoutMs - T.appendDeadlineMarginMs),
    );
  } catch (error) {
    throw new BusUnavailableError((error as Error).message);
  }
}

/** What every connection to Redis shares: fail fast, never wait for ever. */
export const CONNECTION_OPTIONS: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  retryStrategy: retryDelay,
  connectTimeout: REDIS_TIMING.connectTimeoutMs,
  keepAlive: REDIS_TIMING.keepAliveMs,
  commandTimeout: REDIS_TIMING.commandTimeoutMs,
};

/** The heartbeat of a broker, with the timings every broker uses. */
export function brokerHeartbeat(options: Pick<HeartbeatOptions, 'time' | 'connected' | 'stalled' | 'answersAgain'>): Heartbeat {
  return new Heartbeat({
    ...options,
    everyMs: T.heartbeatMs,
    missesBeforeStalled: T.heartbeatMissesBeforeStalled,
    sampleMaxRttMs: T.clockSampleMaxRttMs,
  });
}

/** What the history reader and the presence manager use of the broker. */
export interface RedisCommandPort {
  /** The command connection, corked for this turn; throws BusUnavailableError while Redis is not ready. */
  commands(): ChatRedis;
}

export interface RedisBrokerOptions {
  url: string;
  instanceId: string;
  historyLimit: number;
  logger: Logger;
  onReconnect: () => void;
}

const T = REDIS_TIMING;

export function retryDelay(attempt: number): number {
  return Math.min(T.reconnectBaseMs * 2 ** Math.min(attempt, 5), T.reconnectMaxMs);
}

export class RedisBroker implements Broker, RedisCommandPort {
  private readonly client: Redis & ChatCommands;
  private readonly subscriber: Redis;
  private readonly rooms = new Set<string>();
  private readonly decoder: PayloadDecoder;
  private handlers: BrokerHandlers | undefined;
  private commandsReady = false;
  private subscriberReady = false;
  private everReady = false;
  private closing = false;
  /** A Redis that accepts TCP but does not answer (frozen, partitioned) looks connected; the heartbeat tells. */
  private readonly heartbeat: Heartbeat;

  constructor(private readonly options: RedisBrokerOptions) {
    this.client = new Redis(options.url, { ...CONNECTION_OPTIONS, connectionName: `chat:${options.instanceId}` }) as Redis & ChatCommands;
    this.subscriber = new Redis(options.url, {
      ...CONNECTION_OPTIONS,
      autoResubscribe: false,
      connectionName: `chat-sub:${options.instanceId}`,
    });
    this.decoder = new PayloadDecoder(options.instanceId);
    defineChatScripts(this.client);
    this.heartbeat = brokerHeartbeat({
      time: () => this.client.time(),
      connected: () => this.commandsReady && !this.closing,
      stalled: () => {
        this.options.logger.warn('redis does not answer; not ready until it does');
        if (this.commandsReady && this.subscriberReady) this.handlers?.lost('redis not answering');
      },
      answersAgain: (stalledForMs) => {
        this.options.logger.info({ stalledForMs }, 'redis answers again');
        this.becameReady();
      },
    });
  }

  get ready(): boolean {
    return this.commandsReady && this.subscriberReady && !this.heartbeat.stalled;
  }

  get notReadyReason(): string | undefined {
    if (this.ready) return undefined;
    if (this.heartbeat.stalled) return 'redis_not_answering';
    return this.everReady ? 'redis_disconnected' : 'redis_connecting';
  }

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
    const log = this.options.logger;
    for (const [name, client] of [['commands', this.client], ['subscriber', this.subscriber]] as const) {
      client.on('error', (error: Error) => log.warn({ connection: name, err: error.message }, 'redis error'));
      client.on('close', () => this.onLost(name));
    }
    this.client.on('ready', () => this.onCommandsReady());
    this.subscriber.on('ready', () => void this.onSubscriberReady());
    this.subscriber.on('message', (channel: string, payload: string) => {
      const room = roomOfChannel(channel);
      const event = room === undefined ? undefined : this.decoder.decode(payload);
      if (room !== undefined && event !== undefined) this.handlers!.event(room, event);
    });
    this.heartbeat.start();
    // The first connection may fail; ioredis keeps retrying, and readiness follows.
    await Promise.allSettled([this.client.connect(), this.subscriber.connect()]);
  }

  private onLost(connection: string): void {
    const wasReady = this.ready;
    if (connection === 'commands') this.commandsReady = false;
    else this.subscriberReady = false;
    if (wasReady && !this.closing) {
      this.options.logger.warn({ connection }, 'lost connection to redis');
      this.handlers?.lost(`redis ${connection} connection closed`);
    }
  }

  private onCommandsReady(): void {
    this.commandsReady = true;
    this.heartbeat.sample();
    this.becameReady();
  }

  private async onSubscriberReady(): Promise<void> {
    // Resubscribe ourselves (autoResubscribe is off) so that we know when every
    // room is back, and can then let the rooms catch up from history.
    try {
      if (this.rooms.size > 0) await this.subscriber.subscribe(...[...this.rooms].map(keys.channel));
      this.subscriberReady = true;
      this.becameReady();
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'resubscribe failed; retrying on next connect');
    }
  }

  private becameReady(): void {
    if (!this.ready) return;
    if (this.everReady) {
      this.options.onReconnect();
      this.options.logger.info({ rooms: this.rooms.size }, 'reconnected to redis');
      this.handlers?.resumed();
    } else {
      this.options.logger.info('connected to redis');
    }
    this.everReady = true;
  }

  private assertReady(): void {
    if (!this.ready) throw new BusUnavailableError(this.notReadyReason ?? 'not ready');
  }

  /**
   * The command connection, corked for this turn of the event loop: the
   * messages many clients sent in one poll reach Redis in one write (each
   * write costs a syscall here and a wake-up there).
   */
  commands(): ChatRedis {
    this.assertReady();
    if (this.client.stream) holdWrites(this.client.stream);
    return this.client;
  }

  async subscribe(room: string): Promise<void> {
    this.assertReady();
    this.rooms.add(room);
    try {
      await this.subscriber.subscribe(keys.channel(room));
    } catch (error) {
      this.rooms.delete(room);
      throw new BusUnavailableError((error as Error).message);
    }
  }

  async unsubscribe(room: string): Promise<void> {
    this.rooms.delete(room);
    if (!this.subscriberReady) return;
    await this.subscriber.unsubscribe(keys.channel(room)).catch(() => undefined);
  }

  publish(draft: MessageDraft): Promise<string> {
    return appendAndPublish(this.commands(), draft, this.options.historyLimit, this.heartbeat);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.heartbeat.stop();
    await Promise.allSettled([this.subscriber.quit(), this.client.quit()]);
    this.subscriber.disconnect();
    this.client.disconnect();
  }
}

/** The three parts over one pair of Redis connections. */
export function createRedisBus(options: RedisBrokerOptions): Bus {
  const broker = new RedisBroker(options);
  return {
    broker,
    history: new RedisHistory(broker, options.historyLimit),
    presence: new RedisPresence(broker, options.instanceId),
  };
}
