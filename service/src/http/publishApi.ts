// The publish API: POST /api/rooms/{room}/messages with
// `Authorization: Bearer <PUBLISH_API_KEY>` and {"name","text"}, for a backend
// to post into a room (a system notice, a bot). The same checks, storage and
// fan-out as a client's send; 201 {"id"} once stored. Rate limited per
// instance; the key is compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Broker } from '../bus/types.js';
import type { Logger } from '../log.js';
import { AUTH_PATHS, MAX_PUBLISH_BODY_BYTES } from '../constants.js';
import { checkName, checkRoom, checkText } from '../protocol/parse.js';
import { publishMessage } from '../server/publishMessage.js';
import { TokenBucket } from '../server/rateLimit.js';
import type { Route } from './routes.js';

export interface PublishApiOptions {
  key: string;
  /** Messages a second, per instance. */
  rate: number;
  instanceId: string;
  maxTextBytes: number;
  broker: Broker;
  logger: Logger;
}

const SUFFIX = '/messages';

function answer(res: ServerResponse, status: number, value: object, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(`${JSON.stringify(value)}\n`);
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Reads at most `limit` bytes of body; undefined when there is more. */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function publishApiRoute(options: PublishApiOptions): Route {
  // Digests of equal length, so timingSafeEqual applies whatever the caller sent.
  const expected = digest(`Bearer ${options.key}`);
  const bucket = new TokenBucket(options.rate, options.rate * 2);

  const handle = async (req: IncomingMessage, res: ServerResponse, room: string): Promise<void> => {
    if (req.method !== 'POST') return answer(res, 405, { error: 'method_not_allowed', message: 'use POST' }, { allow: 'POST' });
    if (!timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      return answer(res, 401, { error: 'unauthorized', message: 'send Authorization: Bearer <PUBLISH_API_KEY>' }, { 'www-authenticate': 'Bearer' });
    }
    if (!bucket.take()) return answer(res, 429, { error: 'rate_limited', message: `at most ${options.rate} messages a second` }, { 'retry-after': '1' });
    const roomError = checkRoom(room);
    if (roomError) return answer(res, 400, { error: 'bad_request', message: roomError });
    const body = await readBody(req, MAX_PUBLISH_BODY_BYTES);
    if (body === undefined) return answer(res, 413, { error: 'too_long', message: `the body is larger than ${MAX_PUBLISH_BODY_BYTES} bytes` });
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return answer(res, 400, { error: 'bad_json', message: 'the body is not valid JSON' });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return answer(res, 400, { error: 'bad_request', message: 'the body must be a JSON object {"name": "...", "text": "..."}' });
    }
    const { name, text } = value as Record<string, unknown>;
    const nameError = checkName(name);
    if (nameError) return answer(res, 400, { error: 'bad_request', message: nameError });
    const textError = checkText(text, { maxTextBytes: options.maxTextBytes });
    if (textError) return answer(res, 400, { error: textError.code, message: textError.message });
    if (!options.broker.ready) return answer(res, 503, { error: 'unavailable', message: 'the message bus is unavailable; retry shortly' }, { 'retry-after': '1' });
    try {
      const { id } = await publishMessage(options.broker, options.instanceId, room, name as string, text as string);
      answer(res, 201, { id });
    } catch {
      answer(res, 503, { error: 'unavailable', message: 'the message bus did not confirm this message in time and it was not stored; send it again' }, { 'retry-after': '1' });
    }
  };

  return (req, res, path) => {
    if (!path.startsWith(AUTH_PATHS.publishPrefix) || !path.endsWith(SUFFIX)) return false;
    const room = path.slice(AUTH_PATHS.publishPrefix.length, -SUFFIX.length);
    handle(req, res, room).catch((error: unknown) => {
      options.logger.error({ err: error }, 'publish API failed');
      if (!res.headersSent) answer(res, 500, { error: 'internal', message: 'internal error' });
    });
    return true;
  };
}
