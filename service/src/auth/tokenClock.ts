// Every connection's token, and what happens as it runs out. Each connection is
// in one of two phases, and waits in exactly one per-second bucket for the end
// of it:
//   valid    until its ask time, then the server sends `token_expiring` ->
//   expiring until exp + clock skew, then the connection is closed with 4001.
// A `refresh` for the same user starts `valid` again with the new token. One
// interval serves all connections: no timer per connection.
import { TOKEN_CLOCK_TICK_MS, TOKEN_REFRESH_LEAD_MS } from '../constants.js';
import { refreshedFrame, tokenExpiringFrame } from '../protocol/encode.js';
import { CLOSE_CODES, type ErrorCode } from '../protocol/codes.js';
import { TokenError, type Identity, type TokenVerifier } from './verifier.js';

/** What the clock needs of a connection. */
export interface TokenHolder {
  readonly open: boolean;
  sendText(text: string): void;
  close(code: number, reason: string): void;
}

type Phase = 'valid' | 'expiring';

interface TokenState {
  identity: Identity;
  phase: Phase;
  /** When the phase ends, ms since the epoch. */
  until: number;
  /** The second whose bucket holds the connection. */
  bucket: number;
  /** When the connection is closed unless refreshed: exp plus the clock skew. */
  closesAt: number;
}

export type RefreshOutcome = { ok: true; frame: string } | { ok: false; code: ErrorCode; message: string };

const second = (ms: number) => Math.ceil(ms / 1000);

export class TokenClock<C extends TokenHolder> {
  private readonly states = new Map<C, TokenState>();
  private readonly buckets = new Map<number, Set<C>>();
  private nextSecond: number;
  private timer: NodeJS.Timeout | undefined;

  private readonly clockSkewMs: number;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly now: () => number = Date.now,
  ) {
    this.clockSkewMs = verifier.clockSkewSeconds * 1000;
    this.nextSecond = second(now());
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), TOKEN_CLOCK_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The identity of a connection that was admitted with a token. */
  identity(connection: C): Identity | undefined {
    return this.states.get(connection)?.identity;
  }

  /** Starts the clock of a connection admitted with this identity. */
  admit(connection: C, identity: Identity): void {
    this.unschedule(connection);
    const now = this.now();
    const closesAt = identity.expiresAt + this.clockSkewMs;
    const askAt = closesAt - Math.min(TOKEN_REFRESH_LEAD_MS, Math.max(0, (closesAt - now) / 2));
    const state: TokenState = { identity, phase: 'valid', until: askAt, closesAt, bucket: 0 };
    this.states.set(connection, state);
    this.schedule(connection, state);
  }

  forget(connection: C): void {
    this.unschedule(connection);
    this.states.delete(connection);
  }

  /** Verifies a refresh token; on success the connection continues under it. */
  async refresh(connection: C, token: string, ref: string | undefined): Promise<RefreshOutcome> {
    const current = this.states.get(connection);
    if (!current) return { ok: false, code: 'bad_request', message: 'this connection has no token to refresh' };
    let identity: Identity;
    try {
      identity = await this.verifier.verify(token);
    } catch (error) {
      if (error instanceof TokenError) return { ok: false, code: 'bad_token', message: error.message };
      throw error;
    }
    if (identity.user !== current.identity.user) {
      return { ok: false, code: 'forbidden', message: 'the refresh token is for another user; a connection keeps its user' };
    }
    // The connection may have closed, or expired, while the token was checked.
    if (!connection.open || !this.states.has(connection)) return { ok: false, code: 'bad_token', message: 'the connection closed before the refresh' };
    this.admit(connection, identity);
    return { ok: true, frame: refreshedFrame(identity.expiresAt + this.clockSkewMs, ref) };
  }

  /** Ends the phases that are over: asks for a token, or closes. */
  tick(): void {
    const now = this.now();
    const last = Math.floor(now / 1000);
    while (this.nextSecond <= last) {
      // Moved on first, so that what advance() schedules lands in a bucket still to come.
      const at = this.nextSecond++;
      const due = this.buckets.get(at);
      if (!due) continue;
      this.buckets.delete(at);
      for (const connection of due) this.advance(connection, now);
    }
  }

  private advance(connection: C, now: number): void {
    const state = this.states.get(connection);
    if (!state) return;
    if (state.phase === 'valid') {
      state.phase = 'expiring';
      state.until = state.closesAt;
      connection.sendText(tokenExpiringFrame(state.closesAt));
      if (state.closesAt > now) return this.schedule(connection, state);
    }
    this.states.delete(connection);
    connection.close(CLOSE_CODES.tokenExpired, 'token expired');
  }

  private schedule(connection: C, state: TokenState): void {
    // Never into a second already ticked past: that bucket would not be read again.
    state.bucket = Math.max(second(state.until), this.nextSecond);
    let bucket = this.buckets.get(state.bucket);
    if (!bucket) this.buckets.set(state.bucket, (bucket = new Set()));
    bucket.add(connection);
  }

  private unschedule(connection: C): void {
    const state = this.states.get(connection);
    const bucket = state && this.buckets.get(state.bucket);
    if (!bucket) return;
    bucket.delete(connection);
    if (bucket.size === 0) this.buckets.delete(state.bucket);
  }
}
