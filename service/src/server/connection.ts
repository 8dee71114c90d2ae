// One client's connection: its rooms, its frame budget, its error budget and
// the bytes waiting for it. A client that stops reading is closed with 1013
// once its buffered bytes pass the limit, so memory cannot grow without bound.
// Once the server decides to close a connection for abuse or slowness, nothing
// more from it is processed (`accepting` turns false at that moment, not when
// the socket ends). A draining close (1001) is not the client's fault: what it
// sent before it saw the close is still processed, so a drain loses no send.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { errorFrame } from '../protocol/encode.js';
import { CLOSE_CODES, type ErrorCode } from '../protocol/codes.js';
import { writeFrame } from './frameWriter.js';
import { holdWrites } from '../cork.js';
import { TokenBucket } from './rateLimit.js';
import { CLOSE_HANDSHAKE_TIMEOUT_MS, ERROR_BURST, ERROR_REFILL_PER_SECOND, REPLAY_HIGH_WATER_BYTES, REPLAY_STALL_MS } from '../constants.js';

export interface ConnectionLimits {
  rateLimit: number;
  maxBufferedBytes: number;
}

export interface ConnectionEvents {
  slowConsumer(connection: Connection): void;
  abusive(connection: Connection): void;
}

export class Connection {
  readonly rooms = new Set<string>();
  /** AUTH_MODE=jwt: the token's `sub`; a refresh keeps it (the clock refuses another user's token). */
  user: string | undefined;
  /** Answered the last ping (or sent anything since). */
  alive = true;
  /** Joins of this connection run one after another, so each is charged before the next is admitted. */
  joins: Promise<void> = Promise.resolve();
  private closing = false;
  /** Set with a close for abuse or slowness: frames still arriving are ignored. */
  private ignoring = false;
  /** Every frame costs from this bucket (RATE_LIMIT a second, bursts of twice that). */
  private readonly frames: TokenBucket;
  private readonly errors = new TokenBucket(ERROR_REFILL_PER_SECOND, ERROR_BURST);
  /**
   * ws keeps the raw socket private. It is used only where ws has no public
   * API: writing a frame encoded once for a whole room (see frameWriter), and
   * corking for the rest of the event-loop turn (see cork.ts).
   */
  private readonly socket: Socket;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    /** The client's address (X-Forwarded-For behind a trusted proxy), for logs and per-address caps. */
    readonly address: string,
    private readonly limits: ConnectionLimits,
    private readonly events: ConnectionEvents,
  ) {
    this.socket = (ws as unknown as { _socket: Socket })._socket;
    this.frames = new TokenBucket(limits.rateLimit, limits.rateLimit * 2);
  }

  get open(): boolean {
    return !this.closing && this.ws.readyState === 1;
  }

  /** False from the moment the server decided to close for abuse or slowness: frames still arriving are ignored. */
  get accepting(): boolean {
    return !this.ignoring;
  }

  /** Writes a frame that may be shared with other connections. */
  writeFrame(frame: Buffer): void {
    if (!this.open) return;
    this.checkBuffered(writeFrame(this.socket, frame));
  }

  sendText(text: string): void {
    if (!this.open) return;
    holdWrites(this.socket);
    this.ws.send(text);
    this.checkBuffered(this.ws.bufferedAmount);
  }

  /**
   * For replays: sends, and while the bytes waiting for this client are past
   * the high-water mark, resolves only once they have been written out (the
   * client reads). A reader that makes no progress for REPLAY_STALL_MS is
   * closed as too slow.
   */
  sendPaced(text: string): Promise<void> | undefined {
    if (!this.open) return undefined;
    if (this.ws.bufferedAmount < REPLAY_HIGH_WATER_BYTES) {
      this.ws.send(text);
      return undefined;
    }
    return new Promise<void>((resolve) => {
      const stalled = setTimeout(() => {
        this.tooSlow();
        resolve();
      }, REPLAY_STALL_MS);
      this.ws.send(text, () => {
        clearTimeout(stalled);
        resolve();
      });
    });
  }

  private checkBuffered(bytes: number): void {
    if (bytes > this.limits.maxBufferedBytes) this.tooSlow();
  }

  tooSlow(): void {
    if (this.closing) return;
    this.ignoring = true;
    this.close(CLOSE_CODES.tryAgainLater, 'client too slow to read');
    this.events.slowConsumer(this);
  }

  /** Takes a frame's cost; false when the connection is over its budget (or in debt from a heavy read). */
  charge(cost: number): boolean {
    return this.frames.take(cost);
  }

  /** A cost known after the fact (messages a join replayed); may leave the budget in debt. */
  chargeAfter(cost: number): void {
    if (cost > 0) this.frames.spend(cost);
  }

  get overBudget(): boolean {
    return this.frames.inDebt;
  }

  /** Answers with an error frame; a client that keeps erring is closed with 1008, and that is logged once. */
  sendError(code: ErrorCode, message: string, ref?: string): void {
    if (this.closing) return; // nothing can reach the client any more, and abuse is decided once
    this.sendText(errorFrame(code, message, ref));
    // `unavailable` is the server's fault (Redis is away), not the client's.
    if (code !== 'unavailable' && !this.errors.take()) {
      this.ignoring = true;
      this.close(CLOSE_CODES.policyViolation, 'too many invalid or rate-limited frames');
      this.events.abusive(this);
    }
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
    // A peer that does not answer the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS).unref();
  }
}
