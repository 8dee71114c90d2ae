// Where a connection token travels: the query parameter `token` of the /ws URL,
// the one place a browser's WebSocket can put it.
import type { IncomingMessage } from 'node:http';

export function tokenOf(request: IncomingMessage): string | null {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  return query < 0 ? null : new URLSearchParams(url.slice(query + 1)).get('token');
}
