// A chat client that survives its connection: it reconnects with jittered
// exponential backoff and rejoins every room with `since` set to the newest id
// it has (and the room's epoch), so the server replays what it missed. A `gap`
// frame (the server found messages missing from the room's history) makes it
// join that room again the same way, and so does a join the server refused
// for a while (`unavailable`, `rate_limited`), after a backoff. It runs on anything with the
// browser WebSocket shape (the browser, `ws` in Node, k6/websockets).
import type { MessageFrame, ServerFrame } from './frames.js';
import { joinFrame, leaveFrame, refreshFrame, sendFrame } from './frames.js';
import { RoomLog, type Arrival } from './roomLog.js';
import { CLIENT_BACKOFF_MS } from '../constants.js';

/** The part of the browser WebSocket interface this client uses. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type SessionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SessionOptions {
  /** Opens a new socket to the service. */
  connect: () => SocketLike;
  name: string;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
  onFrame?: (frame: ServerFrame) => void;
  onMessage?: (message: MessageFrame, arrival: Arrival) => void;
  onState?: (state: SessionState, detail?: { code?: number; instance?: string }) => void;
}

const OPEN = 1;
/** Refs of this client's joins start so: an error with one names the join to try again. */
const JOIN_REF = 'join:';

export class ChatSession {
  readonly rooms = new Map<string, RoomLog>();
  instance: string | undefined;
  reconnects = 0;
  private socket: SocketLike | undefined;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private joinRetries = 0;
  /** room -> the ref its joins carry. */
  private readonly joinRefs = new Map<string, string>();
  private readonly options: Required<Pick<SessionOptions, 'initialBackoffMs' | 'maxBackoffMs' | 'random'>> &
    SessionOptions;

  constructor(options: SessionOptions) {
    this.options = { initialBackoffMs: CLIENT_BACKOFF_MS.initial, maxBackoffMs: CLIENT_BACKOFF_MS.max, random: Math.random, ...options };
    this.open();
  }

  get connected(): boolean {
    return this.socket !== undefined && this.socket.readyState === OPEN && this.instance !== undefined;
  }

  join(room: string): void {
    if (!this.rooms.has(room)) this.rooms.set(room, new RoomLog());
    if (this.connected) this.rejoin(room, this.rooms.get(room)!);
  }

  private rejoin(room: string, log: RoomLog): void {
    // Room names may be as long as a ref may be: the ref is a short token mapped to its room.
    let ref = this.joinRefs.get(room);
    if (ref === undefined) this.joinRefs.set(room, (ref = `${JOIN_REF}${this.joinRefs.size}`));
    this.socket!.send(joinFrame(room, this.options.name, log.lastId, log.epoch || undefined, ref));
  }

  /** A join refused for now is sent again after a jittered backoff, on the same connection if it still stands. */
  private retryJoin(room: string): void {
    const socket = this.socket;
    const { initialBackoffMs, maxBackoffMs, random } = this.options;
    const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.min(this.joinRetries++, 10));
    setTimeout(() => {
      const log = this.rooms.get(room);
      if (log && !this.closed && this.socket === socket && this.connected) this.rejoin(room, log);
    }, Math.round(ceiling / 2 + (random() * ceiling) / 2));
  }

  leave(room: string): void {
    this.rooms.delete(room);
    if (this.connected) this.socket!.send(leaveFrame(room));
  }

  /** False when there is no open connection to send on; the caller decides whether to retry. */
  send(room: string, text: string, ref?: string): boolean {
    if (!this.connected) return false;
    this.socket!.send(sendFrame(room, text, ref));
    return true;
  }

  /** AUTH_MODE=jwt: hands the connection a new token (after `token_expiring`); false when not connected. */
  refresh(token: string): boolean {
    if (!this.connected) return false;
    this.socket!.send(refreshFrame(token));
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.socket?.close(1000);
    this.options.onState?.('closed');
  }

  private open(): void {
    this.instance = undefined;
    this.options.onState?.(this.reconnects === 0 ? 'connecting' : 'reconnecting');
    const socket = this.options.connect();
    this.socket = socket;
    socket.onmessage = (event) => this.receive(String(event.data));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.instance = undefined;
      if (!this.closed) this.retry(event.code);
    };
    socket.onerror = () => {
      /* followed by close, which retries */
    };
  }

  private retry(code?: number): void {
    const { initialBackoffMs, maxBackoffMs, random } = this.options;
    const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2);
    this.attempt++;
    this.options.onState?.('reconnecting', { code });
    this.timer = setTimeout(() => {
      this.reconnects++;
      this.open();
    }, delay);
  }

  private receive(data: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'hello':
        this.instance = frame.instance;
        for (const [room, log] of this.rooms) this.rejoin(room, log);
        this.options.onState?.('open', { instance: frame.instance });
        break;
      case 'joined': {
        this.attempt = 0;
        this.joinRetries = 0;
        const log = this.rooms.get(frame.room);
        if (log) log.epoch = frame.epoch;
        break;
      }
      case 'gap': {
        const log = this.rooms.get(frame.room);
        if (log && this.connected) this.rejoin(frame.room, log);
        break;
      }
      case 'error':
        if (frame.ref?.startsWith(JOIN_REF) && (frame.code === 'unavailable' || frame.code === 'rate_limited')) {
          const room = [...this.joinRefs].find(([, ref]) => ref === frame.ref)?.[0];
          if (room !== undefined) this.retryJoin(room);
        }
        break;
      case 'message': {
        const log = this.rooms.get(frame.room);
        // Accepted even without an onMessage listener: lastId is what a rejoin asks from.
        if (log) {
          const arrival = log.accept(frame.id);
          this.options.onMessage?.(frame, arrival);
        }
        break;
      }
      default:
        break;
    }
    this.options.onFrame?.(frame);
  }
}
