// The address a connection counts against (per-address caps) and is logged
// with. The TCP peer, unless the peer is a trusted proxy (TRUSTED_PROXIES, e.g.
// the load balancer's subnets): then X-Forwarded-For is read from the right,
// past every trusted hop, to the first address a trusted proxy saw connect.
// Entries to the left of that one are whatever the client wrote, so they are
// never believed.
import { isIP, type BlockList } from 'node:net';
import type { IncomingMessage } from 'node:http';

function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isTrusted(address: string, trusted: BlockList): boolean {
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

export function clientAddress(request: IncomingMessage, trusted: BlockList): string {
  let address = normalize(request.socket.remoteAddress ?? 'unknown');
  if (!isTrusted(address, trusted)) return address;
  const header = request.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((hop) => normalize(hop.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (isIP(hops[i]) === 0) return address; // not an address: stop at the last hop we could trust
    address = hops[i];
    if (!isTrusted(address, trusted)) return address;
  }
  return address;
}
