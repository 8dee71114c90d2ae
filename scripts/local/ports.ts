// Loopback ports: free ones for tests, and a clear refusal when a chosen one is taken.
//
// Free ports are picked below the kernel's ephemeral range on purpose. A port
// from listen(0) comes from that range, which is also where every outgoing
// connection (a health check, a Redis client, a WebSocket client) gets its
// local port; between the check and the moment a child process listens, such
// a connection could take it, and with HAProxy checking every instance every
// second beside other tests it did (EADDRINUSE twice in nine runs of
// test/cluster). Within one process ports are handed out in turn from a random
// start, so one process never gets the same port twice, even from calls
// running side by side; separate processes start at random places.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 20_000;

/** The ports the kernel does not hand out on its own, as [from, to). */
function quietRange(): [number, number] {
  let low = 32_768;
  let high = 60_999;
  try {
    [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    // not Linux: its usual defaults
  }
  return low - LOWEST >= 1000 ? [LOWEST, low] : [high + 1, 65_536];
}

async function canListen(port: number, host: string): Promise<boolean> {
  return assertPortFree(port, 'probe', host).then(
    () => true,
    () => false,
  );
}

/** A port nothing listens on, outside the ephemeral range. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return freePortBlock(1, host);
}

/** Where the next search starts; -1 until the first one. */
let cursor = -1;

/** The first of `count` consecutive free ports (instance i on base + i), outside the ephemeral range. */
export async function freePortBlock(count: number, host = '127.0.0.1'): Promise<number> {
  const [from, to] = quietRange();
  const span = to - from - count;
  if (cursor < 0) cursor = from + Math.floor(Math.random() * span);
  for (let tried = 0; tried < span; tried += count) {
    const base = from + ((cursor - from) % span);
    // Claimed before the first await, so calls running side by side get different ports.
    cursor = base + count;
    let free = true;
    for (let i = 0; i < count && free; i++) free = await canListen(base + i, host);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports on ${host} between ${from} and ${to}`);
}

/** Throws `port 8443 (--https-port) is already in use on 127.0.0.1 ...` when something listens there. */
export async function assertPortFree(port: number, what: string, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} (${what}) is already in use on ${host}; stop what uses it or choose another port`
            : `port ${port} (${what}) cannot be used on ${host}: ${error.message}`,
        ),
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
