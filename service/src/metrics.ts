// The service's Prometheus metrics, on prom-client (the registry operators
// know) with its default process metrics: event-loop lag, GC, heap, handles.
//
// Every member has its own registry labelled with the host's instance id. With
// WORKERS > 1 a scrape lands on any one worker, so a worker answers /metrics
// with the sum over all workers, which the cluster primary gathers (prom-client's
// AggregatorRegistry): chat_connections is then the connections of the whole
// instance, the figure the Auto Scaling group tracks (see stacks/metrics.ts).
import cluster from 'node:cluster';
import client from 'prom-client';

export type Counter = client.Counter;
export type Gauge = client.Gauge;
export type Histogram = client.Histogram;

interface Live {
  connections: () => number;
  rooms: () => number;
  busReady: () => boolean;
  draining: () => boolean;
}

/** Id of worker `index` on host `host`; hostOf() reverses it. */
export function workerInstanceId(host: string, index: number): string {
  return `${host}-w${index}`;
}

/** The host's instance id: the id itself outside a cluster worker. */
function hostOf(instance: string): string {
  return cluster.isWorker ? instance.replace(/-w\d+$/, '') : instance;
}

const REQUEST = 'chat:metrics-request';
const ANSWER = 'chat:metrics-answer';
/** A worker serves its own metrics when the primary does not answer this fast. */
const CLUSTER_ANSWER_MS = 2000;

interface MetricsMessage {
  type: string;
  id: number;
  text?: string;
}

/** Called once in the cluster primary: answers workers' requests for the summed metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new client.AggregatorRegistry();
  cluster.on('message', (worker, message: MetricsMessage) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ANSWER, id: message.id, text }),
      () => worker.send({ type: ANSWER, id: message.id }),
    );
  });
}

/** The service's metrics; gauges read live state through the callbacks given. */
export class Metrics {
  readonly registry = new client.Registry();
  readonly messagesReceived: Counter;
  readonly messagesDelivered: Counter;
  readonly deliveryLatency: Histogram;
  readonly redisReconnects: Counter;
  readonly redisErrors: Counter;
  readonly slowConsumersDropped: Counter;
  readonly framesRejected: Counter;
  private nextRequest = 0;

  constructor(instance: string, live: Live) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ instance: hostOf(instance) });
    client.collectDefaultMetrics({ register: this.registry });
    // How a cluster sums a gauge over workers: counts add up, flags do not.
    const gauge = (name: string, help: string, read: () => number, aggregator: client.Aggregator = 'sum') =>
      new client.Gauge({
        name,
        help,
        registers,
        aggregator,
        collect() {
          this.set(read());
        },
      });
    const counter = (name: string, help: string) => new client.Counter({ name, help, registers });
    gauge('chat_connections', 'Open WebSocket connections.', live.connections);
    gauge('chat_rooms', 'Rooms with at least one local member.', live.rooms);
    gauge('chat_bus_connected', '1 when the message bus is connected.', () => (live.busReady() ? 1 : 0), 'min');
    gauge('chat_draining', '1 while the instance drains.', () => (live.draining() ? 1 : 0), 'max');
    this.messagesReceived = counter('chat_messages_received_total', 'Messages accepted from local clients.');
    this.messagesDelivered = counter('chat_messages_delivered_total', 'Message frames written to local clients.');
    this.deliveryLatency = new client.Histogram({
      name: 'chat_delivery_latency_seconds',
      help: 'Time from acceptance (message ts) to fan-out on this instance.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.redisReconnects = counter('chat_redis_reconnects_total', 'Reconnections to Redis.');
    this.redisErrors = counter('chat_redis_errors_total', 'Errors reported by the Redis connections (refused, reset, timed out, ...).');
    this.slowConsumersDropped = counter('chat_slow_consumers_dropped_total', 'Clients closed with 1013 for not reading.');
    this.framesRejected = counter('chat_frames_rejected_total', 'Client frames answered with an error frame.');
    if (cluster.isWorker) {
      // Answers the primary's AggregatorRegistry with this registry.
      new client.AggregatorRegistry();
      client.AggregatorRegistry.setRegistries([this.registry]);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text: this member's, or in a cluster worker the whole instance's. */
  async render(): Promise<string> {
    if (cluster.isWorker && process.send) {
      const summed = await this.askPrimary();
      if (summed !== undefined) return summed;
    }
    return this.registry.metrics();
  }

  private askPrimary(): Promise<string | undefined> {
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      const finish = (text: string | undefined) => {
        clearTimeout(timer);
        process.off('message', onMessage);
        resolve(text);
      };
      const onMessage = (message: MetricsMessage) => {
        if (message?.type === ANSWER && message.id === id) finish(message.text);
      };
      const timer = setTimeout(() => finish(undefined), CLUSTER_ANSWER_MS);
      process.on('message', onMessage);
      process.send!({ type: REQUEST, id });
    });
  }
}
