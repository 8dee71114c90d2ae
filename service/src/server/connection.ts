// One client's connection: its rooms, its send budget, its error budget and
// the bytes waiting for it. A client that stops reading is closed with 1013
// once its buffered bytes pass the limit, so memory cannot grow without bound.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { errorFrame } from '../protocol/encode.js';
import { CLOSE_CODES, type ErrorCode } from '../protocol/codes.js';
import { encodeTextFrame, writeFrame } from './frameWriter.js';
import { TokenBucket } from './rateLimit.js';
import { CLOSE_HANDSHAKE_TIMEOUT_MS, ERROR_BURST, ERROR_REFILL_PER_SECOND } from '../constants.js';

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
  private closing = false;
  private readonly sends: TokenBucket;
  private readonly errors = new TokenBucket(ERROR_REFILL_PER_SECOND, ERROR_BURST);
  readonly socket: Socket;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    private readonly limits: ConnectionLimits,
    private readonly events: ConnectionEvents,
  ) {
    // ws keeps the raw socket private; the frame writer needs it (see frameWriter).
    this.socket = (ws as unknown as { _socket: Socket })._socket;
    this.sends = new TokenBucket(limits.rateLimit, limits.rateLimit * 2);
  }

  get open(): boolean {
    return !this.closing && this.ws.readyState === 1;
  }

  /** Writes a frame that may be shared with other connections. */
  writeFrame(frame: Buffer): void {
    if (!this.open) return;
    if (writeFrame(this.socket, frame) > this.limits.maxBufferedBytes) {
      this.close(CLOSE_CODES.tryAgainLater, 'client too slow to read');
      this.events.slowConsumer(this);
    }
  }

  sendText(text: string): void {
    this.writeFrame(encodeTextFrame(text));
  }

  takeSendToken(): boolean {
    return this.sends.take();
  }

  /** Answers with an error frame; a client that keeps erring is closed with 1008. */
  sendError(code: ErrorCode, message: string, ref?: string): void {
    this.sendText(errorFrame(code, message, ref));
    // `unavailable` is the server's fault (Redis is away), not the client's.
    if (code !== 'unavailable' && !this.errors.take()) {
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
