// The Redis broker: one connection for commands and scripts, one for
// subscriptions, and the heartbeat that tells whether Redis answers. It
// subscribes to a room's channel only while this instance has local members in
// it. Commands fail fast while Redis is away (no offline queue): the caller
// answers `unavailable` instead of queueing without bound. The history reader
// and the presence manager run their scripts on its command connection.
import { randomBytes } from 'node:crypto';
import { Redis, type RedisCommander, type RedisOptions } from 'ioredis';
import type { RedisCredentialSource } from './redisCredentials.js';
import type { Logger } from '../log.js';
import { APPEND_AND_PUBLISH, READ_HISTORY, RedisHistory } from '../history/redisStream.js';
import { CLAIM_DEAD, HEARTBEAT, RedisPresence, UPDATE_PRESENCE } from '../presence/redisPresence.js';
import { REDIS_TIMING, SEND_DEDUPE_TTL_MS } from '../constants.js';
import { holdWrites } from '../cork.js';
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
import { keys, roomOfChannel } from './keys.js';
import { PayloadDecoder } from './payload.js';
import { BusUnavailableError, type Broker, type BrokerHandlers, type Bus, type MessageDraft, type Published } from './types.js';

/** The scripts defined on the command connection. */
export interface ChatCommands {
  chatAppend(
    stream: string, meta: string, dedupe: string, channel: string, maxLen: number, prefix: string, suffix: string, header: string,
    deadline: number, historyTtlMs: number, dedupeTtlMs: number,
  ): Promise<[string, 0] | [string, 1, string]>;
  chatHistory(stream: string, meta: string, mode: 'since' | 'last', arg: string | number, max: number, epoch: string): Promise<[string, number, string, string[]]>;
  chatPresence(hash: string, total: string, usersHash: string, instance: string, count: number, channel: string, ...users: string[]): Promise<[number, number, number]>;
  chatHeartbeat(instances: string, instance: string, ttlMs: number, first: 0 | 1): Promise<[number, string[]]>;
  chatClaimDead(instances: string, instance: string, ttlMs: number): Promise<number>;
}
/** A connection to one Redis, or an ioredis Cluster (REDIS_MODE=cluster), with the scripts defined. */
export type ChatRedis = RedisCommander & ChatCommands;

/**
 * Defines the scripts on a client. `publish` rewrites what they PUBLISH for a
 * Redis Cluster (`sharded` in bus/clusterClient.ts).
 */
export function defineChatScripts(client: Pick<Redis, 'defineCommand'>, publish: (lua: string) => string = (lua) => lua): void {
  client.defineCommand('chatAppend', { numberOfKeys: 3, lua: publish(APPEND_AND_PUBLISH) });
  client.defineCommand('chatHistory', { numberOfKeys: 2, lua: READ_HISTORY });
  client.defineCommand('chatPresence', { numberOfKeys: 3, lua: publish(UPDATE_PRESENCE) });
  client.defineCommand('chatHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
  client.defineCommand('chatClaimDead', { numberOfKeys: 1, lua: CLAIM_DEAD });
}

/** What appending a message needs of its broker. */
export interface AppendContext {
  historyLimit: number;
  historyTtlMs: number;
  /** Names this process in dedupe keys: instance id and a random per-process part. */
  sender: string;
  /** Supplies the deadline in Redis' clock. */
  heartbeat: Heartbeat;
}

/** Appends a message to its room's history and publishes it, in one script. */
export async function appendAndPublish(commands: ChatRedis, draft: MessageDraft, context: AppendContext): Promise<Published> {
  const { room } = draft;
  const dedupe = draft.dedupeKey === undefined ? undefined : keys.sent(room, context.sender, draft.dedupeKey);
  let answer: [string, 0] | [string, 1, string];
  try {
    answer = await commands.chatAppend(
      keys.history(room),
      keys.meta(room),
      dedupe ?? keys.sent(room, '', ''),
      keys.channel(room),
      context.historyLimit,
      draft.framePrefix,
      draft.frameSuffix,
      draft.headerTail,
      // In Redis' clock; none until the offset is known (the first second after connecting).
      context.heartbeat.redisTime(REDIS_TIMING.commandTimeoutMs - REDIS_TIMING.appendDeadlineMarginMs),
      context.historyTtlMs,
      dedupe === undefined ? 0 : SEND_DEDUPE_TTL_MS,
    );
  } catch (error) {
    throw new BusUnavailableError((error as Error).message);
  }
  return answer[1] === 1 ? { id: answer[0], repeated: true, frame: draft.framePrefix + answer[0] + answer[2] } : { id: answer[0], repeated: false };
}

/** Names this process in dedupe keys, so a restarted instance reusing connection ids cannot collide. */
export function senderName(instanceId: string): string {
  return `${instanceId}:${randomBytes(6).toString('base64url')}`;
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

/** Why a broker is not ready, for /readyz; undefined when it is. */
export function notReadyReason(ready: boolean, heartbeat: Heartbeat, everReady: boolean): string | undefined {
  if (ready) return undefined;
  if (heartbeat.stalled) return 'redis_not_answering';
  return everReady ? 'redis_disconnected' : 'redis_connecting';
}

/** The heartbeat of a broker, with the timings every broker uses. */
export function brokerHeartbeat(options: Pick<HeartbeatOptions, 'time' | 'connected' | 'stalled' | 'answersAgain'>): Heartbeat {
  return new Heartbeat({
    ...options,
    everyMs: REDIS_TIMING.heartbeatMs,
    missesBeforeStalled: REDIS_TIMING.heartbeatMissesBeforeStalled,
    sampleMaxRttMs: REDIS_TIMING.clockSampleMaxRttMs,
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
  /** 0: history never expires. */
  historyTtlMs: number;
  logger: Logger;
  onReconnect: () => void;
  /** Every error a Redis connection reports (counted: chat_redis_errors_total). */
  onError: () => void;
  /** REDIS_AUTH=iam: signs the AUTH token of both connections and renews it (bus/redisCredentials.ts). */
  credentials?: RedisCredentialSource;
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
  /** Counts subscriber connections, so a resubscribe loop stops when its connection is gone. */
  private subscriberGeneration = 0;
  private readonly sender: string;
  private everReady = false;
  private closing = false;
  /** A Redis that accepts TCP but does not answer (frozen, partitioned) looks connected; the heartbeat tells. */
  private readonly heartbeat: Heartbeat;

  constructor(private readonly options: RedisBrokerOptions) {
    const common = CONNECTION_OPTIONS;
    this.sender = senderName(options.instanceId);
    this.client = new Redis(options.url, {
      ...common,
      connectionName: `chat:${options.instanceId}`,
      // A command whose answer was lost with its connection may have run: sent
      // again it could store a message twice. It fails instead (the sender is
      // told `unavailable`, and a resend with the same ref is not stored twice).
      autoResendUnfulfilledCommands: false,
    }) as Redis & ChatCommands;
    this.subscriber = new Redis(options.url, {
      ...common,
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
        // Ready until this moment: the rooms must hold what arrives and catch up.
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
    return notReadyReason(this.ready, this.heartbeat, this.everReady);
  }

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
    const log = this.options.logger;
    for (const [name, client] of [['commands', this.client], ['subscriber', this.subscriber]] as const) {
      client.on('error', (error: Error) => {
        this.options.onError();
        log.warn({ connection: name, err: error.message }, 'redis error');
      });
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
    await this.options.credentials?.attach([this.client, this.subscriber]);
    await Promise.allSettled([this.client.connect(), this.subscriber.connect()]);
  }

  private onLost(connection: string): void {
    const wasReady = this.ready;
    if (connection === 'commands') this.commandsReady = false;
    else {
      this.subscriberReady = false;
      this.subscriberGeneration++;
    }
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

  /**
   * Resubscribes every room (autoResubscribe is off, so that the broker knows
   * when every room is back and the rooms can then catch up from history). A
   * failed attempt is retried with backoff for as long as this connection
   * lives; a new connection starts its own.
   */
  private async onSubscriberReady(): Promise<void> {
    const generation = ++this.subscriberGeneration;
    for (let attempt = 0; !this.closing && generation === this.subscriberGeneration; attempt++) {
      try {
        if (this.rooms.size > 0) await this.subscriber.subscribe(...[...this.rooms].map(keys.channel));
        if (generation !== this.subscriberGeneration) return;
        this.subscriberReady = true;
        this.becameReady();
        return;
      } catch (error) {
        this.options.logger.warn({ err: (error as Error).message, attempt }, 'resubscribe failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(T.resubscribeBaseMs * 2 ** Math.min(attempt, 5), T.reconnectMaxMs)));
      }
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

  publish(draft: MessageDraft): Promise<Published> {
    return appendAndPublish(this.commands(), draft, { ...this.options, sender: this.sender, heartbeat: this.heartbeat });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.heartbeat.stop();
    this.options.credentials?.stop();
    await Promise.allSettled([this.subscriber.quit(), this.client.quit()]);
    this.subscriber.disconnect();
    this.client.disconnect();
  }
}

/** The three parts over one Redis broker's command connection. */
export function busOver(broker: Broker & RedisCommandPort, options: RedisBrokerOptions): Bus {
  return {
    broker,
    history: new RedisHistory(broker, options.historyLimit),
    presence: new RedisPresence(broker, options.instanceId),
  };
}

/** The three parts over one pair of Redis connections. */
export function createRedisBus(options: RedisBrokerOptions): Bus {
  return busOver(new RedisBroker(options), options);
}
