// The Redis broker in cluster mode (REDIS_MODE=cluster): an ioredis Cluster
// for commands and scripts, each sent to the primary of its room's slot (every
// key and channel of a room shares one hash tag), and sharded pub/sub: the
// append script publishes with SPUBLISH, and each room is SSUBSCRIBEd on the
// primary that serves it (shardedSubscriptions.ts). Rooms whose subscription
// is lost (failover, migration) are reported lost and resumed one by one, so
// a shard's failover does not disturb the rooms of the others.
import type { Cluster, RedisOptions } from 'ioredis';
import type { Logger } from '../log.js';
import { APPEND_AND_PUBLISH, READ_HISTORY } from '../history/redisStream.js';
import { UPDATE_PRESENCE } from '../presence/redisPresence.js';
import { PRESENCE_TTL_MS } from '../defaults.js';
import { compareIds } from '../protocol/ids.js';
import { messagePrefix } from '../protocol/encode.js';
import { clusterClient, nodeClient, parseSeeds, sharded } from './clusterClient.js';
import { Heartbeat } from './heartbeat.js';
import { keys } from './keys.js';
import { PayloadDecoder } from './payload.js';
import { ShardedSubscriptions } from './shardedSubscriptions.js';
import { BusUnavailableError, type Broker, type BrokerHandlers, type HistoryQuery, type HistoryRead, type MessageDraft } from './types.js';

interface ChatCommands {
  chatAppend(stream: string, trimmed: string, channel: string, maxLen: number, prefix: string, suffix: string, header: string, deadline: number): Promise<string>;
  chatHistory(stream: string, trimmed: string, mode: 'since' | 'last', arg: string | number, max: number): Promise<[string, string[]]>;
  chatPresence(hash: string, total: string, instance: string, count: number, ttl: number, channel: string): Promise<number>;
}
type ChatCluster = Cluster & ChatCommands;

export interface RedisClusterBrokerOptions {
  /** One or more seed nodes, comma-separated (REDIS_URL). */
  url: string;
  instanceId: string;
  historyLimit: number;
  logger: Logger;
  onReconnect: () => void;
}

const HEARTBEAT_MS = 1000;
const COMMAND_TIMEOUT_MS = 2000;
const APPEND_DEADLINE_MARGIN_MS = 500;
const CLOCK_SAMPLE_MAX_RTT_MS = 100;
/** The slot map is read this often, so a failover or a migration is noticed within about this long. */
const SLOTS_REFRESH_MS = 1000;

function retryDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 5), 2000);
}

export class RedisClusterBroker implements Broker {
  private readonly client: ChatCluster;
  private readonly subscriptions: ShardedSubscriptions;
  private readonly heartbeat: Heartbeat;
  private readonly decoder: PayloadDecoder;
  private handlers: BrokerHandlers | undefined;
  private clientReady = false;
  private everReady = false;
  private closing = false;

  constructor(private readonly options: RedisClusterBrokerOptions) {
    const seeds = parseSeeds(options.url);
    const common: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      keepAlive: 5000,
      commandTimeout: COMMAND_TIMEOUT_MS,
    };
    this.client = clusterClient(
      seeds,
      { ...common, retryStrategy: retryDelay, connectionName: `chat:${options.instanceId}` },
      { lazyConnect: true, slotsRefreshInterval: SLOTS_REFRESH_MS, scaleReads: 'master' },
    ) as ChatCluster;
    this.client.defineCommand('chatAppend', { numberOfKeys: 2, lua: sharded(APPEND_AND_PUBLISH) });
    this.client.defineCommand('chatHistory', { numberOfKeys: 2, lua: READ_HISTORY });
    this.client.defineCommand('chatPresence', { numberOfKeys: 2, lua: sharded(UPDATE_PRESENCE) });
    this.decoder = new PayloadDecoder(options.instanceId);
    this.subscriptions = new ShardedSubscriptions({
      cluster: this.client,
      connect: (node) =>
        nodeClient(seeds, node, { ...common, retryStrategy: retryDelay, autoResubscribe: false, connectionName: `chat-sub:${options.instanceId}` }),
      logger: options.logger,
      message: (room, payload) => {
        const event = this.decoder.decode(payload);
        if (event !== undefined) this.handlers?.event(room, event);
      },
      lost: (rooms, reason) => this.handlers?.lost(reason, rooms),
      resumed: (rooms) => this.handlers?.resumed(rooms),
    });
    this.heartbeat = new Heartbeat({
      // Any primary that answers: one shard failing over is not the cluster gone.
      time: () => Promise.any(this.client.nodes('master').map((node) => node.time())),
      connected: () => this.clientReady && !this.closing,
      everyMs: HEARTBEAT_MS,
      missesBeforeStalled: 2,
      sampleMaxRttMs: CLOCK_SAMPLE_MAX_RTT_MS,
      stalled: () => {
        options.logger.warn('no redis primary answers; not ready until one does');
        this.handlers?.lost('redis not answering');
      },
      answersAgain: (stalledForMs) => {
        options.logger.info({ stalledForMs }, 'redis answers again');
        this.becameReady();
      },
    });
  }

  get ready(): boolean {
    return this.clientReady && !this.heartbeat.stalled;
  }

  get notReadyReason(): string | undefined {
    if (this.ready) return undefined;
    if (this.heartbeat.stalled) return 'redis_not_answering';
    return this.everReady ? 'redis_disconnected' : 'redis_connecting';
  }

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
    const log = this.options.logger;
    this.client.on('error', (error: Error) => log.warn({ err: error.message }, 'redis cluster error'));
    this.client.on('node error', (error: Error, node: string) => log.warn({ node, err: error.message }, 'redis node error'));
    this.client.on('ready', () => {
      this.clientReady = true;
      this.heartbeat.sample();
      this.becameReady();
    });
    this.client.on('close', () => {
      const wasReady = this.ready;
      this.clientReady = false;
      if (wasReady && !this.closing) {
        log.warn('lost connection to the redis cluster');
        this.handlers?.lost('redis cluster connection closed');
      }
    });
    this.heartbeat.start();
    // The first connection may fail; ioredis keeps retrying, and readiness follows.
    await this.client.connect().catch(() => undefined);
  }

  /**
   * Back after the whole cluster was away. Rooms catch up one by one as their
   * subscriptions come back (the subscriptions report them), not here: a
   * room caught up before it hears its channel again would miss what comes
   * in between.
   */
  private becameReady(): void {
    if (!this.ready) return;
    if (this.everReady) {
      this.options.onReconnect();
      this.options.logger.info('reconnected to the redis cluster');
    } else {
      this.options.logger.info('connected to the redis cluster');
    }
    this.everReady = true;
  }

  private assertReady(): void {
    if (!this.ready) throw new BusUnavailableError(this.notReadyReason ?? 'not ready');
  }

  async subscribe(room: string): Promise<void> {
    this.assertReady();
    try {
      await this.subscriptions.subscribe(room);
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
  }

  unsubscribe(room: string): Promise<void> {
    return this.subscriptions.unsubscribe(room);
  }

  async publish(draft: MessageDraft): Promise<string> {
    this.assertReady();
    const { room } = draft;
    try {
      return await this.client.chatAppend(
        keys.history(room),
        keys.trimmed(room),
        keys.channel(room),
        this.options.historyLimit,
        draft.framePrefix,
        draft.frameSuffix,
        draft.headerTail,
        this.heartbeat.redisTime(COMMAND_TIMEOUT_MS - APPEND_DEADLINE_MARGIN_MS),
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
      [trimmed, flat] = await this.client.chatHistory(
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
      return await this.client.chatPresence(keys.presence(room), keys.presenceTotal(room), this.options.instanceId, localCount, PRESENCE_TTL_MS, keys.channel(room));
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.heartbeat.stop();
    await this.subscriptions.close();
    await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}
