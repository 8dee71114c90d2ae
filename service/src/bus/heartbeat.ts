// Whether Redis answers, and its clock against ours. A Redis that accepts TCP
// but does not answer (frozen, partitioned) looks connected; a TIME every
// heartbeat tells, and its answer gives the clock offset that the append
// script's deadline is written in.

export interface HeartbeatOptions {
  /** Redis' TIME: [seconds, microseconds]. */
  time(): Promise<ReadonlyArray<string | number>>;
  /** Whether the connection is up; no pings are sent while it is not. */
  connected(): boolean;
  everyMs: number;
  missesBeforeStalled: number;
  /** Clock samples from slower answers than this are not trusted. */
  sampleMaxRttMs: number;
  stalled(): void;
  answersAgain(stalledForMs: number): void;
}

export class Heartbeat {
  /** Set after enough missed answers; cleared by the next answer. */
  stalled = false;
  /** Redis' clock minus ours; unknown until the first quick answer. */
  private offsetMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private missed = 0;
  private inFlight = false;

  constructor(private readonly options: HeartbeatOptions) {}

  start(): void {
    this.timer = setInterval(() => this.beat(), this.options.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Takes a clock sample now (after connecting); failures are left to the heartbeat. */
  sample(): void {
    void this.measure(Date.now()).catch(() => undefined);
  }

  /** A moment `afterMs` from now in Redis' clock, or 0 (none) while the offset is unknown. */
  redisTime(afterMs: number): number {
    return this.offsetMs === undefined ? 0 : Math.floor(Date.now() + this.offsetMs + afterMs);
  }

  private async measure(sent: number): Promise<void> {
    const [seconds, micros] = await this.options.time();
    const received = Date.now();
    // The estimate is off by at most half the round trip; a slow answer (Redis
    // busy or stalling) would skew the deadlines, so only quick ones update it.
    if (received - sent > this.options.sampleMaxRttMs) return;
    this.offsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (sent + received) / 2;
  }

  private beat(): void {
    if (this.inFlight || !this.options.connected()) return;
    this.inFlight = true;
    const sent = Date.now();
    this.measure(sent)
      .then(() => {
        this.missed = 0;
        if (this.stalled) {
          this.stalled = false;
          this.options.answersAgain(Date.now() - sent);
        }
      })
      .catch(() => {
        this.missed++;
        if (this.missed >= this.options.missesBeforeStalled && !this.stalled) {
          this.stalled = true;
          this.options.stalled();
        }
      })
      .finally(() => {
        this.inFlight = false;
      });
  }
}
