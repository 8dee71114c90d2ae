// What a client has seen of one room: the newest id (to rejoin with `since`)
// and whether each arriving message is new, a duplicate or out of order.
// The page, the k6 scripts, the fault harness and the tests all judge
// delivery with this one class.
import { compareIds } from './ids.js';

export type Arrival = 'new' | 'duplicate' | 'out_of_order';

export class RoomLog {
  lastId: string | undefined;
  /** The room's history epoch from the last `joined` ('' or undefined: not known); sent back with since. */
  epoch: string | undefined;
  received = 0;
  duplicates = 0;
  outOfOrder = 0;
  private readonly seen = new Set<string>();

  constructor(since?: string) {
    this.lastId = since;
  }

  accept(id: string): Arrival {
    if (this.seen.has(id)) {
      this.duplicates++;
      return 'duplicate';
    }
    this.seen.add(id);
    this.received++;
    if (this.lastId !== undefined && compareIds(id, this.lastId) <= 0) {
      this.outOfOrder++;
      return 'out_of_order';
    }
    this.lastId = id;
    return 'new';
  }
}
