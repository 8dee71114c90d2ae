// A small Prometheus text-format registry: counters, gauges read on scrape,
// and one histogram. Hand-written because the service needs five metrics, not
// a metrics framework.

type Labels = Record<string, string>;

function renderLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '\\$&')}"`).join(',')}}`;
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  value = 0;
  constructor(private readonly name: string, private readonly help: string, private readonly labels: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n${this.name}${renderLabels(this.labels)} ${this.value}\n`;
  }
}

export class Gauge implements Metric {
  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly labels: Labels,
    private readonly read: () => number,
  ) {}
  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name}${renderLabels(this.labels)} ${this.read()}\n`;
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly labels: Labels,
    private readonly buckets: number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]) {
        this.counts[i]++;
        break;
      }
    }
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i];
      lines.push(`${this.name}_bucket${renderLabels({ ...this.labels, le: String(this.buckets[i]) })} ${cumulative}`);
    }
    lines.push(`${this.name}_bucket${renderLabels({ ...this.labels, le: '+Inf' })} ${this.count}`);
    lines.push(`${this.name}_sum${renderLabels(this.labels)} ${this.sum}`);
    lines.push(`${this.name}_count${renderLabels(this.labels)} ${this.count}`);
    return `${lines.join('\n')}\n`;
  }
}

/** The service's metrics; gauges read live state through the callbacks given. */
export class Metrics {
  private readonly all: Metric[] = [];
  readonly messagesReceived: Counter;
  readonly messagesDelivered: Counter;
  readonly deliveryLatency: Histogram;
  readonly redisReconnects: Counter;
  readonly slowConsumersDropped: Counter;
  readonly framesRejected: Counter;

  constructor(instance: string, live: { connections: () => number; rooms: () => number; busReady: () => boolean; draining: () => boolean }) {
    const labels = { instance };
    const counter = (name: string, help: string) => this.add(new Counter(name, help, labels));
    this.add(new Gauge('chat_connections', 'Open WebSocket connections.', labels, live.connections));
    this.add(new Gauge('chat_rooms', 'Rooms with at least one local member.', labels, live.rooms));
    this.add(new Gauge('chat_bus_connected', '1 when the message bus is connected.', labels, () => (live.busReady() ? 1 : 0)));
    this.add(new Gauge('chat_draining', '1 while the instance drains.', labels, () => (live.draining() ? 1 : 0)));
    this.messagesReceived = counter('chat_messages_received_total', 'Messages accepted from local clients.');
    this.messagesDelivered = counter('chat_messages_delivered_total', 'Message frames written to local clients.');
    this.deliveryLatency = this.add(
      new Histogram(
        'chat_delivery_latency_seconds',
        'Time from acceptance (message ts) to fan-out on this instance.',
        labels,
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      ),
    );
    this.redisReconnects = counter('chat_redis_reconnects_total', 'Reconnections to Redis.');
    this.slowConsumersDropped = counter('chat_slow_consumers_dropped_total', 'Clients closed with 1013 for not reading.');
    this.framesRejected = counter('chat_frames_rejected_total', 'Client frames answered with an error frame.');
  }

  private add<M extends Metric>(metric: M): M {
    this.all.push(metric);
    return metric;
  }

  render(): string {
    return this.all.map((metric) => metric.render()).join('');
  }
}
