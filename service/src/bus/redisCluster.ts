// The Redis broker in cluster mode (REDIS_MODE=cluster): an ioredis Cluster
// for commands and scripts, each sent to the primary of its room's slot (every
// key and channel of a room shares one hash tag), and sharded pub/sub: the
// append script publishes with SPUBLISH, and each room is SSUBSCRIBEd on the
// primary that serves it (shardedSubscriptions.ts). Rooms whose subscription
// is lost (failover, migration) are reported lost and resumed one by one, so
// a shard's failover does not disturb the rooms of the others.
import type { Cluster, Redis } from 'ioredis';
import type { AuthenticatedClient } from './redisCredentials.js';
import { REDIS_CLUSTER_TIMING } from '../constants.js';
import { clusterClient, nodeClient, parseSeeds, sharded } from './clusterClient.js';
import type { Heartbeat } from './heartbeat.js';
import { PayloadDecoder } from './payload.js';
import {
  CONNECTION_OPTIONS,
  appendAndPublish,
  brokerHeartbeat,
  busOver,
  notReadyReason,
  defineChatScripts,
  type ChatCommands,
  type ChatRedis,
  senderName,
  type RedisBrokerOptions,
  type RedisCommandPort,
} from './redis.js';
import { ShardedSubscriptions } from './shardedSubscriptions.js';
import { BusUnavailableError, type Broker, type BrokerHandlers, type Bus, type MessageDraft, type Published } from './types.js';

type ChatCluster = Cluster & ChatCommands;

export class RedisClusterBroker implements Broker, RedisCommandPort {
  private readonly client: ChatCluster;
  private readonly subscriptions: ShardedSubscriptions;
  private readonly heartbeat: Heartbeat;
  private readonly decoder: PayloadDecoder;
  private handlers: BrokerHandlers | undefined;
  private clientReady = false;
  private everReady = false;
  private closing = false;

  private readonly sender: string;
  /** With REDIS_AUTH=iam: the current user and token, for connections made from now on. */
  private readonly auth: { username?: string; password?: string } = {};

  /** `url` is one or more seed nodes, comma-separated (REDIS_URL). */
  constructor(private readonly options: RedisBrokerOptions) {
    const seeds = parseSeeds(options.url);
    this.sender = senderName(options.instanceId);
    const { lazyConnect: _lazy, ...common } = CONNECTION_OPTIONS;
    this.client = clusterClient(
      seeds,
      // As in single mode: a command whose answer was lost with its connection fails rather than runs twice.
      { ...common, connectionName: `chat:${options.instanceId}`, autoResendUnfulfilledCommands: false },
      { lazyConnect: true, slotsRefreshInterval: REDIS_CLUSTER_TIMING.slotsRefreshMs, scaleReads: 'master', enableAutoPipelining: true },
    ) as ChatCluster;
    defineChatScripts(this.client, sharded);
    this.decoder = new PayloadDecoder(options.instanceId);
    this.subscriptions = new ShardedSubscriptions({
      cluster: this.client,
      connect: (node) => nodeClient(seeds, node, { ...common, ...this.auth, autoResubscribe: false, connectionName: `chat-sub:${options.instanceId}` }),
      logger: options.logger,
      message: (room, payload) => {
        const event = this.decoder.decode(payload);
        if (event !== undefined) this.handlers?.event(room, event);
      },
      lost: (rooms, reason) => this.handlers?.lost(reason, rooms),
      resumed: (rooms) => this.handlers?.resumed(rooms),
    });
    this.heartbeat = brokerHeartbeat({
      // Any primary that answers: one shard failing over is not the cluster gone.
      time: () => Promise.any(this.client.nodes('master').map((node) => node.time())),
      connected: () => this.clientReady && !this.closing,
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
    return notReadyReason(this.ready, this.heartbeat, this.everReady);
  }

  async start(handlers: BrokerHandlers): Promise<void> {
    this.handlers = handlers;
    const log = this.options.logger;
    this.client.on('error', (error: Error) => {
      this.options.onError();
      log.warn({ err: error.message }, 'redis cluster error');
    });
    this.client.on('node error', (error: Error, node: string) => {
      this.options.onError();
      log.warn({ node, err: error.message }, 'redis node error');
    });
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
    await this.options.credentials?.attach([this.everyConnection()]);
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

  /**
   * Every connection of the cluster as one client for the IAM token rotation
   * (bus/redisCredentials.ts): a new token goes to the options new node and
   * subscriber connections are made from, and to those open now, and AUTH
   * renews it on the open command connections.
   */
  private everyConnection(): AuthenticatedClient {
    const clusterOptions = this.client.options.redisOptions!;
    const open = (): Redis[] => [...this.client.nodes('all'), ...this.subscriptions.connections()];
    const assign = (field: 'username' | 'password', value: string | undefined) => {
      this.auth[field] = value;
      clusterOptions[field] = value;
      for (const connection of open()) connection.options[field] = value;
    };
    return {
      options: {
        get username() {
          return clusterOptions.username;
        },
        set username(value) {
          assign('username', value);
        },
        get password() {
          return clusterOptions.password;
        },
        set password(value) {
          assign('password', value);
        },
      },
      status: 'ready',
      // Subscribed connections cannot send AUTH (RESP2 allows only subscription
      // commands): they keep the session they opened and take the new token when
      // they reconnect (ElastiCache ends IAM sessions after 12 hours).
      auth: (username, password) =>
        Promise.all(this.client.nodes('all').filter((node) => node.status === 'ready').map((node) => node.auth(username, password))),
    };
  }

  /** The cluster client: each script goes to the primary of its first key's slot, following MOVED and ASK. */
  commands(): ChatRedis {
    this.assertReady();
    return this.client;
  }

  publish(draft: MessageDraft): Promise<Published> {
    return appendAndPublish(this.commands(), draft, { ...this.options, sender: this.sender, heartbeat: this.heartbeat });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.heartbeat.stop();
    this.options.credentials?.stop();
    await this.subscriptions.close();
    await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}

/** The three parts over one Redis Cluster. */
export function createRedisClusterBus(options: RedisBrokerOptions): Bus {
  return busOver(new RedisClusterBroker(options), options);
}
