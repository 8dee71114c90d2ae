// The Redis broker: one connection for commands and scripts, one for
// subscriptions. It subscribes to a room's channel only while this member has
// local members in it. Commands fail fast while Redis is away (no offline
// queue): the caller answers `unavailable` instead of queueing without bound.
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisCredentialSource } from './redisCredentials.js';
import type { Logger } from '../log.js';
import { APPEND_AND_PUBLISH, READ_HISTORY } from '../history/redisStream.js';
import { UPDATE_PRESENCE } from '../presence/redisPresence.js';
import { PRESENCE_TTL_MS } from '../defaults.js';
import { compareIds } from '../protocol/ids.js';
import { holdWrites } from '../cork.js';
import { messagePrefix } from '../protocol/encode.js';
import { keys, roomOfChannel } from './keys.js';
import { PayloadDecoder } from './payload.js';
import { BusUnavailableError, type Broker, type BrokerHandlers, type HistoryQuery, type HistoryRead, type MessageDraft } from './types.js';

interface ChatCommands {
  chatAppend(stream: string, trimmed: string, channel: string, maxLen: number, prefix: string, suffix: string, header: string, deadline: number): Promise<string>;
  chatHistory(stream: string, trimmed: string, mode: 'since' | 'last', arg: string | number, max: number): Promise<[string, string[]]>;
  chatPresence(hash: string, total: string, instance: string, count: number, ttl: number, channel: string): Promise<number>;
}
type ChatRedis = Redis & ChatCommands;

export interface RedisBrokerOptions {
  url: string;
  instanceId: string;
  historyLimit: number;
  logger: Logger;
  onReconnect: () => void;
  /** REDIS_AUTH=iam: signs the AUTH token of both connections and renews it (bus/redisCredentials.ts). */
  credentials?: RedisCredentialSource;
}

function retryDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 5), 2000);
}

/** How often Redis is pinged, and how long an answer may take before the broker counts it as stalled. */
const HEARTBEAT_MS = 1000;
const COMMAND_TIMEOUT_MS = 2000;
/**
 * An append must run in Redis this long before the instance stops waiting for
 * it, or the script refuses it: room for the answer's way back and for an
 * event loop that is late to read it.
 */
const APPEND_DEADLINE_MARGIN_MS = 500;
const CLOCK_SAMPLE_MAX_RTT_MS = 100;

export class RedisBroker implements Broker {
  private readonly commands: ChatRedis;
  private readonly subscriber: Redis;
  private readonly rooms = new Set<string>();
  private readonly decoder: PayloadDecoder;
  private handlers: BrokerHandlers | undefined;
  private commandsReady = false;
  private subscriberReady = false;
  private everReady = false;
  private closing = false;
  /** A Redis that accepts TCP but does not answer (frozen, partitioned) looks connected; the heartbeat tells. */
  private stalled = false;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Redis' clock minus ours, from the heartbeat's TIME; unknown until the first answer. */
  private clockOffsetMs: number | undefined;

  constructor(private readonly options: RedisBrokerOptions) {
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: retryDelay,
      connectTimeout: 5000,
      // Short keepalive so a dead Redis (failover, network loss) is noticed quickly.
      keepAlive: 5000,
      // A command that gets no answer fails instead of waiting for ever.
      commandTimeout: COMMAND_TIMEOUT_MS,
    };
    this.commands = new Redis(options.url, { ...common, connectionName: `chat:${options.instanceId}` }) as ChatRedis;
    this.subscriber = new Redis(options.url, {
      ...common,
      autoResubscribe: false,
      connectionName: `chat-sub:${options.instanceId}`,
    });
    this.decoder = new PayloadDecoder(options.instanceId);
    this.commands.defineCommand('chatAppend', { numberOfKeys: 2, lua: APPEND_AND_PUBLISH });
    this.commands.defineCommand('chatHistory', { numberOfKeys: 2, lua: READ_HISTORY });
    this.commands.defineCommand('chatPresence', { numberOfKeys: 2, lua: UPDATE_PRESENCE });
  }

  get ready(): boolean {
    return this.commandsReady && this.subscriberReady && !this.stalled;
  }

  get notReadyReason(): string | undefined {
    if (this.ready) return undefined;
    if (this.stalled) return 'redis_not_answering';
    return this.everReady ? 'redis_disconnected' : 'redis_connecting';
  }

  /** Asks Redis the time: an answer that it is alive, and its clock against ours. */
  private async measureClock(sent = Date.now()): Promise<void> {
    const [seconds, micros] = await this.commands.time();
    const received = Date.now();
    // The estimate is off by at most half the round trip; a slow answer (Redis
    // busy or stalling) would skew the deadlines, so only quick ones update it.
    if (received - sent > CLOCK_SAMPLE_MAX_RTT_MS) return;
    this.clockOffsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (sent + received) / 2;
  }

  /** Pings Redis every second; two missed answers make the broker not ready until one comes back. */
  private startHeartbeat(): void {
    let missed = 0;
    let inFlight = false;
    this.heartbeat = setInterval(() => {
      if (inFlight || !this.commandsReady || this.closing) return;
      inFlight = true;
      const sent = Date.now();
      this.measureClock(sent)
        .then(() => {
          missed = 0;
          if (this.stalled) {
            this.stalled = false;
            this.options.logger.info({ stalledForMs: Date.now() - sent }, 'redis answers again');
            this.becameReady();
          }
        })
        .catch(() => {
          missed++;
          if (missed >= 2 && !this.stalled) {
            const wasReady = this.ready;
            this.stalled = true;
            this.options.logger.warn('redis does not answer; not ready until it does');
            if (wasReady) this.handlers?.lost('redis not answering');
          }
        })
        .finally(() => {
          inFlight = false;
        });
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
    const log = this.options.logger;
    for (const [name, client] of [['commands', this.commands], ['subscriber', this.subscriber]] as const) {
      client.on('error', (error: Error) => log.warn({ connection: name, err: error.message }, 'redis error'));
      client.on('close', () => this.onLost(name));
    }
    this.commands.on('ready', () => this.onCommandsReady());
    this.subscriber.on('ready', () => void this.onSubscriberReady());
    this.subscriber.on('message', (channel: string, payload: string) => {
      const room = roomOfChannel(channel);
      const event = room === undefined ? undefined : this.decoder.decode(payload);
      if (room !== undefined && event !== undefined) this.handlers!.event(room, event);
    });
    this.startHeartbeat();
    // The first connection may fail; ioredis keeps retrying, and readiness follows.
    await this.options.credentials?.attach([this.commands, this.subscriber]);
    await Promise.allSettled([this.commands.connect(), this.subscriber.connect()]);
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
    void this.measureClock().catch(() => undefined);
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
  private get batched(): ChatRedis {
    if (this.commands.stream) holdWrites(this.commands.stream);
    return this.commands;
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

  async publish(draft: MessageDraft): Promise<string> {
    this.assertReady();
    const { room } = draft;
    try {
      return await this.batched.chatAppend(
        keys.history(room),
        keys.trimmed(room),
        keys.channel(room),
        this.options.historyLimit,
        draft.framePrefix,
        draft.frameSuffix,
        draft.headerTail,
        // In Redis' clock; none until the offset is known (the first second after connecting).
        this.clockOffsetMs === undefined ? 0 : Math.floor(Date.now() + this.clockOffsetMs + COMMAND_TIMEOUT_MS - APPEND_DEADLINE_MARGIN_MS),
      );
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
  }

  async history(room: string, query: HistoryQuery): Promise<HistoryRead> {
    this.assertReady();
    const isSince = 'since' in query;
    let trimmed: string;
    let flat: string[];
    try {
      [trimmed, flat] = await this.batched.chatHistory(
        keys.history(room),
        keys.trimmed(room),
        isSince ? 'since' : 'last',
        isSince ? query.since : query.last,
        this.options.historyLimit,
      );
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
    const prefix = messagePrefix(room);
    const messages = [];
    for (let i = 0; i < flat.length; i += 2) messages.push({ id: flat[i], frame: prefix + flat[i] + flat[i + 1] });
    const recovered = !isSince || compareIds(query.since, trimmed) >= 0;
    return { messages, recovered };
  }

  async presence(room: string, localCount: number): Promise<number> {
    this.assertReady();
    try {
      return await this.batched.chatPresence(
        keys.presence(room),
        keys.presenceTotal(room),
        this.options.instanceId,
        localCount,
        PRESENCE_TTL_MS,
        keys.channel(room),
      );
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.options.credentials?.stop();
    await Promise.allSettled([this.subscriber.quit(), this.commands.quit()]);
    this.subscriber.disconnect();
    this.commands.disconnect();
  }
}
