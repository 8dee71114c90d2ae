// A test client over `ws`: collects every frame, and lets a test wait for the
// next frame that matches, with a timeout that names what it waited for.
import { WebSocket, type ClientOptions } from 'ws';
import type { HelloFrame, MessageFrame, ServerFrame } from '../../service/src/protocol/frames.js';

export interface TestClient {
  ws: WebSocket;
  hello: HelloFrame;
  frames: ServerFrame[];
  send(frame: object | string): void;
  next<T extends ServerFrame = ServerFrame>(match: (frame: ServerFrame) => boolean, what: string, timeoutMs?: number): Promise<T>;
  messages(room: string): MessageFrame[];
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, { rejectUnauthorized: false, ...options });
  const frames: ServerFrame[] = [];
  const waiters = new Set<() => void>();
  let cursor = 0;
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as ServerFrame);
    for (const wake of waiters) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      resolve({ code, reason: String(reason) });
      for (const wake of waiters) wake();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  const client: TestClient = {
    ws,
    hello: undefined as unknown as HelloFrame,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: <T extends ServerFrame>(match: (frame: ServerFrame) => boolean, what: string, timeoutMs = 5000) =>
      new Promise<T>((resolve, reject) => {
        const check = () => {
          while (cursor < frames.length) {
            const frame = frames[cursor++];
            if (match(frame)) {
              finish();
              return resolve(frame as T);
            }
          }
          if (ws.readyState === WebSocket.CLOSED) {
            finish();
            reject(new Error(`connection closed while waiting for ${what}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last frames: ${JSON.stringify(frames.slice(-3))}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    messages: (room) => frames.filter((f): f is MessageFrame => f.type === 'message' && f.room === room),
    close: () => ws.close(),
  };
  client.hello = await client.next<HelloFrame>((f) => f.type === 'hello', 'hello');
  return client;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the check passes or the time is up; returns how long it took. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 50): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`not true within ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

/** Connects and joins a room; resolves once `joined` has arrived. */
export async function joinAs(url: string, room: string, name: string, since?: string): Promise<TestClient> {
  const client = await connect(url);
  client.send(since === undefined ? { type: 'join', room, name } : { type: 'join', room, name, since });
  await client.next((f) => f.type === 'joined' && f.room === room, `joined ${room}`);
  return client;
}
