// Message ids are Redis Stream entry ids, "<milliseconds>-<sequence>", ordered
// within a room. The in-process bus makes ids of the same form, so every
// consumer (server, browser page, k6, tests) compares them with this one module.

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;
/** Each part of a Redis Stream id is an unsigned 64-bit integer. */
const U64_MAX = '18446744073709551615';

function compareDecimal(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * An id Redis could have made and can read after: both parts fit in 64 bits,
 * and it is not the very last possible id (nothing can come after it).
 */
export function isStreamId(value: unknown): value is string {
  const match = typeof value === 'string' ? STREAM_ID.exec(value) : null;
  if (!match) return false;
  const [, ms, seq] = match;
  if (compareDecimal(ms, U64_MAX) > 0 || compareDecimal(seq, U64_MAX) > 0) return false;
  return !(compareDecimal(ms, U64_MAX) === 0 && compareDecimal(seq, U64_MAX) === 0);
}

/** Negative when a is older than b, 0 when equal, positive when newer. Both must be stream ids. */
export function compareIds(a: string, b: string): number {
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  return (
    compareDecimal(a.slice(0, dashA), b.slice(0, dashB)) ||
    compareDecimal(a.slice(dashA + 1), b.slice(dashB + 1))
  );
}

/** The newer of two ids, treating undefined as "nothing yet". */
export function maxId(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareIds(a, b) >= 0 ? a : b;
}
