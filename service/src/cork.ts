// Writes held until the event loop reaches its check phase, then sent as one.
//
// Each write on a loopback or VPC socket is a syscall, and profiles show those
// syscalls, not the service's JavaScript, are most of what a delivery costs.
// A stream held here collects every write made in this turn of the loop (every
// message that arrived in the same poll) and leaves with one writev at
// setImmediate: no timer, so nothing waits longer than the rest of the current
// turn. (A 1–2 ms timer instead was measured and did not pay: docs/performance.md.)
import type { Writable } from 'node:stream';

const held: Writable[] = [];

function release(): void {
  for (const stream of held) stream.uncork();
  held.length = 0;
}

/** Corks `stream` until the end of this turn of the event loop; a stream already corked is left as it is. */
export function holdWrites(stream: Writable): void {
  if (stream.writableCorked > 0) return;
  if (held.length === 0) setImmediate(release);
  stream.cork();
  held.push(stream);
}
