// Log lines for failures that can repeat without bound (a catch-up failing for
// every room every second, connections refused by the hundred): the first of a
// kind is logged at once, the rest are counted and logged as one line per
// window, so log volume stays bounded whatever the rate.
import type { Logger } from './log.js';
import { FAILURE_LOG_WINDOW_MS } from './constants.js';

interface Pending {
  count: number;
  sample: Record<string, unknown>;
}

export class FailureSummary {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger, private readonly windowMs = FAILURE_LOG_WINDOW_MS) {}

  /** One occurrence of `message`; `fields` of the first and of the latest are logged. */
  note(message: string, fields: Record<string, unknown>): void {
    const pending = this.pending.get(message);
    if (pending) {
      pending.count++;
      pending.sample = fields;
      return;
    }
    this.logger.warn(fields, message);
    this.pending.set(message, { count: 0, sample: fields });
    this.timer ??= setTimeout(() => this.flush(), this.windowMs).unref();
  }

  private flush(): void {
    this.timer = undefined;
    const repeated = [...this.pending].filter(([, pending]) => pending.count > 0);
    this.pending.clear();
    for (const [message, pending] of repeated) {
      this.logger.warn({ ...pending.sample, repeated: pending.count, windowMs: this.windowMs }, `${message} (repeated)`);
      // The kind stays summarised while it keeps happening.
      this.pending.set(message, { count: 0, sample: pending.sample });
    }
    if (this.pending.size > 0) this.timer = setTimeout(() => this.flush(), this.windowMs).unref();
  }

  close(): void {
    clearTimeout(this.timer);
  }
}
