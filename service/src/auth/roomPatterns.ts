// The `rooms` claim: room patterns in which `*` matches any run of characters
// (none included) and every other character matches itself. Matching is the
// two-pointer wildcard walk, at most pattern × room steps: no regular
// expression, so no pattern can make it backtrack without bound.
import { MAX_ROOM_PATTERNS } from '../constants.js';

/** Characters a pattern may hold: a room name's, plus `*`. */
const PATTERN = /^[A-Za-z0-9_.*-]{1,64}$/;

function matches(pattern: string, room: string): boolean {
  let p = 0;
  let r = 0;
  let star = -1; // the last `*` seen in the pattern
  let resume = 0; // where in the room that `*` is matched up to
  while (r < room.length) {
    if (p < pattern.length && pattern[p] === room[r] && pattern[p] !== '*') {
      p++;
      r++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = r;
    } else if (star >= 0) {
      p = star + 1;
      r = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export class RoomPatterns {
  private constructor(private readonly patterns: readonly string[]) {}

  /** No room at all: what an absent `rooms` claim grants. */
  static readonly none = new RoomPatterns([]);

  /** A reason when the claim is not an array of at most MAX_ROOM_PATTERNS patterns; the patterns otherwise. */
  static parse(claim: unknown): RoomPatterns | string {
    if (claim === undefined) return RoomPatterns.none;
    if (!Array.isArray(claim) || claim.length > MAX_ROOM_PATTERNS) {
      return `claim "rooms" must be an array of at most ${MAX_ROOM_PATTERNS} room patterns`;
    }
    for (const pattern of claim) {
      if (typeof pattern !== 'string' || !PATTERN.test(pattern)) {
        return 'claim "rooms" holds a pattern that is not 1 to 64 of A-Z a-z 0-9 _ . - *';
      }
    }
    return new RoomPatterns(claim as string[]);
  }

  permits(room: string): boolean {
    for (const pattern of this.patterns) if (matches(pattern, room)) return true;
    return false;
  }
}
