// Steady chat traffic from recovery-aware clients (the shared ChatSession:
// reconnect with backoff, rejoin with `since`), and the verdict on it: every
// message the server stored must reach every member of its room exactly once.
import { Cluster, Redis } from 'ioredis';
import { parseSeeds } from '../service/src/bus/clusterClient.js';
import { WebSocket } from 'ws';
import { keys } from '../service/src/bus/keys.js';
import { ChatSession, type SocketLike } from '../service/src/protocol/session.js';
import type { ErrorFrame, ServerFrame } from '../service/src/protocol/frames.js';

export interface TrafficOptions {
  wsUrl: string;
  rooms: number;
  clientsPerRoom: number;
  /** Messages per second each client sends while connected. */
  ratePerClient: number;
  /** Distinguishes this run's rooms from earlier ones. */
  label: string;
  /** Rooms by name instead (a cluster test picks rooms by slot); `rooms` of them are used. */
  roomNames?: string[];
}

interface Delivery {
  at: number;
  latencyMs: number;
}

class TrafficClient {
  readonly session: ChatSession;
  readonly received = new Set<string>();
  readonly deliveries: Delivery[] = [];
  readonly errors: ErrorFrame[] = [];
  readonly acked = new Set<string>();
  members = 0;
  joined = false;
  seq = 0;
  sent = 0;
  /** ref -> text of every send handed to an open connection. */
  readonly sentTexts = new Map<string, string>();
  /** Times from losing the connection to being back in the room. */
  readonly outagesMs: number[] = [];
  private lostAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly name: string, readonly room: string, wsUrl: string) {
    this.session = new ChatSession({
      name,
      connect: () => new WebSocket(wsUrl, { rejectUnauthorized: false }) as unknown as SocketLike,
      onState: (state) => {
        if (state === 'reconnecting' && this.lostAt === undefined) this.lostAt = Date.now();
      },
      onFrame: (frame: ServerFrame) => {
        if (frame.type === 'joined') {
          this.joined = true;
          this.members = frame.members;
          if (this.lostAt !== undefined) this.outagesMs.push(Date.now() - this.lostAt);
          this.lostAt = undefined;
        } else if (frame.type === 'presence') this.members = frame.members;
        else if (frame.type === 'error') this.errors.push(frame);
      },
      onMessage: (message, arrival) => {
        if (arrival !== 'new') return;
        this.received.add(message.id);
        const [sender, , sentAt] = message.text.split(':');
        this.deliveries.push({ at: Date.now(), latencyMs: Date.now() - Number(sentAt) });
        if (sender === this.name) this.acked.add(message.text);
      },
    });
    this.session.join(room);
  }

  start(rate: number): void {
    this.timer = setInterval(() => {
      const text = `${this.name}:${this.seq}:${Date.now()}`;
      if (this.session.send(this.room, text, `${this.seq}`)) {
        this.sent++;
        this.sentTexts.set(`${this.seq}`, text);
      }
      this.seq++;
    }, 1000 / rate);
  }

  stopSending(): void {
    clearInterval(this.timer);
  }

  get log() {
    return this.session.rooms.get(this.room)!;
  }
}

export interface Verdict {
  stored: number;
  sent: number;
  acked: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  errorFrames: Record<string, number>;
  reconnects: number;
  ackedNotStored: number;
  /** Sends stored under more than one id: a duplicate no client-side id check can see. */
  storedTwice: number;
  /** Sends that were stored (found in the stream). */
  sentStored: number;
  /** Sends answered with an error frame naming their ref (unavailable, rate_limited) and not stored. */
  refused: number;
  /** Sends neither stored nor refused: they vanished without an answer (sent = sentStored + refused + vanished). */
  vanished: number;
  /** Sends answered with an error and stored anyway. */
  refusedButStored: number;
}

/** The text of a stored entry; the stream keeps the tail of the message frame, from `,"name":` on. */
function storedText(suffix: string): string {
  const quoted = /"text":("(?:[^"\\]|\\.)*")/.exec(suffix)?.[1];
  return quoted === undefined ? '' : (JSON.parse(quoted) as string);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export class Traffic {
  readonly clients: TrafficClient[] = [];

  constructor(private readonly options: TrafficOptions) {
    for (let r = 0; r < options.rooms; r++) {
      for (let c = 0; c < options.clientsPerRoom; c++) {
        this.clients.push(new TrafficClient(`c${r}-${c}`, options.roomNames?.[r] ?? `chaos-${options.label}-${r}`, options.wsUrl));
      }
    }
  }

  get rooms(): string[] {
    return [...new Set(this.clients.map((c) => c.room))];
  }

  /** Resolves once every client has joined and sees its whole room, then starts sending. */
  async start(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.clients.every((c) => c.joined && c.members >= this.options.clientsPerRoom)) {
      if (Date.now() > deadline) {
        const waiting = this.clients.filter((c) => !(c.joined && c.members >= this.options.clientsPerRoom));
        this.close(); // its clients would otherwise reconnect for ever
        throw new Error(`traffic clients did not all join in time: ${waiting.map((c) => `${c.name} joined=${c.joined} members=${c.members} errors=${JSON.stringify(c.errors)}`).join('; ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const client of this.clients) client.start(this.options.ratePerClient);
  }

  /** True when every client is connected and sees its whole room. */
  presenceRight(): boolean {
    return this.clients.every((c) => c.session.connected && c.members === this.options.clientsPerRoom);
  }

  /** The longest time any client spent between losing its connection and being back in its room. */
  longestOutageMs(): number {
    return Math.max(0, ...this.clients.flatMap((c) => c.outagesMs));
  }

  /** The longest time in [from, to) in which no client received anything. */
  longestSilenceMs(from: number, to: number): number {
    const times = this.clients.flatMap((c) => c.deliveries.map((d) => d.at)).filter((t) => t >= from && t < to);
    const edges = [from, ...times.sort((a, b) => a - b), to];
    return Math.max(...edges.slice(1).map((t, i) => t - edges[i]));
  }

  /** Latencies of deliveries that arrived in [from, to). */
  latencies(from: number, to = Infinity): number[] {
    return this.clients.flatMap((c) => c.deliveries.filter((d) => d.at >= from && d.at < to).map((d) => d.latencyMs));
  }

  /**
   * Stops sending, lets the last messages and replays arrive, then judges
   * against the Redis streams (of a Redis Cluster, when `redisUrl` lists its seeds).
   */
  async finish(redisUrl: string, settleMs = 3000, mode: 'single' | 'cluster' = 'single'): Promise<Verdict> {
    for (const client of this.clients) client.stopSending();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const redis = mode === 'cluster' ? new Cluster(parseSeeds(redisUrl).nodes) : new Redis(redisUrl);
    try {
      const verdict: Verdict = {
        stored: 0, sent: 0, acked: 0, delivered: 0, lost: 0, duplicated: 0, outOfOrder: 0, errorFrames: {}, reconnects: 0, ackedNotStored: 0, storedTwice: 0,
        sentStored: 0, refused: 0, vanished: 0, refusedButStored: 0,
      };
      for (const room of this.rooms) {
        // A trimmed stream would hide losses: the judgement needs every message.
        const trimmed = await redis.hget(keys.meta(room), 'trimmed');
        if (trimmed !== null && trimmed !== '0-0') throw new Error(`history of ${room} was trimmed; raise HISTORY_LIMIT for this run`);
        const entries = await redis.xrange(keys.history(room), '-', '+');
        const ids = entries.map(([id]) => id);
        const storedTexts = entries.map(([, fields]) => storedText(fields[1]));
        const texts = new Set(storedTexts);
        verdict.stored += ids.length;
        verdict.storedTwice += storedTexts.length - texts.size;
        for (const client of this.clients.filter((c) => c.room === room)) {
          verdict.sent += client.sent;
          verdict.acked += client.acked.size;
          verdict.delivered += client.received.size;
          verdict.lost += ids.filter((id) => !client.received.has(id)).length;
          verdict.duplicated += client.log.duplicates;
          verdict.outOfOrder += client.log.outOfOrder;
          verdict.reconnects += client.session.reconnects;
          verdict.ackedNotStored += [...client.acked].filter((text) => !texts.has(text)).length;
          for (const error of client.errors) verdict.errorFrames[error.code] = (verdict.errorFrames[error.code] ?? 0) + 1;
          const refusedRefs = new Set(client.errors.map((error) => error.ref).filter((ref) => ref !== undefined));
          for (const [ref, text] of client.sentTexts) {
            if (texts.has(text)) {
              verdict.sentStored++;
              if (refusedRefs.has(ref)) verdict.refusedButStored++;
            } else if (refusedRefs.has(ref)) verdict.refused++;
            else verdict.vanished++;
          }
        }
      }
      return verdict;
    } finally {
      redis.disconnect();
      this.close();
    }
  }

  /** Stops every client for good (a closed session no longer reconnects); safe to call again. */
  close(): void {
    for (const client of this.clients) {
      client.stopSending();
      client.session.close();
    }
  }
}
