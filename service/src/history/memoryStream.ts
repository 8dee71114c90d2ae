// The in-process equivalent of a room's Redis Stream, for a single instance:
// ids of the same "<ms>-<seq>" form, the same cap and the same trimmed marker.
import { compareIds } from '../protocol/ids.js';
import type { HistoryQuery, HistoryRead } from '../bus/types.js';

interface Entry {
  id: string;
  suffix: string;
}

export class MemoryStream {
  private readonly entries: Entry[] = [];
  private lastMs = 0;
  private seq = 0;
  private maxDeleted = '0-0';
  /** One process, one unbroken history: the epoch is fixed when the stream is made. */
  readonly epoch = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;

  constructor(private readonly limit: number) {}

  append(suffix: string, now = Date.now()): string {
    // Like XADD *: never go back in time, and count up within a millisecond.
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq++;
    }
    const id = `${this.lastMs}-${this.seq}`;
    this.entries.push({ id, suffix });
    while (this.entries.length > this.limit) this.maxDeleted = this.entries.shift()!.id;
    return id;
  }

  read(prefix: string, query: HistoryQuery, limit: number): HistoryRead {
    let selected: Entry[];
    if ('since' in query) {
      selected = this.entries.filter((entry) => compareIds(entry.id, query.since) > 0).slice(0, limit);
    } else {
      selected = query.last > 0 ? this.entries.slice(-query.last) : [];
    }
    return {
      messages: selected.map((entry) => ({ id: entry.id, frame: prefix + entry.id + entry.suffix })),
      recovered: 'since' in query ? this.unbrokenFrom(query.since, query.epoch) : true,
      head: this.entries.length > 0 ? this.entries[this.entries.length - 1].id : '0-0',
      epoch: this.epoch,
    };
  }

  /** The same rule as the Redis read script: since is kept, or is the newest id trimmed, within the reader's epoch. */
  private unbrokenFrom(since: string, epoch: string | undefined): boolean {
    if (epoch !== undefined && epoch !== '' && epoch !== this.epoch) return false;
    return since === this.maxDeleted || this.entries.some((entry) => entry.id === since);
  }
}
