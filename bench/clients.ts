// A client for each system under test, behind one interface, so the driver
// never knows which it talks to. Each speaks its system's own protocol with
// the library its users would use (ws, socket.io-client).
import { WebSocket } from 'ws';
import { io as ioClient, type Socket } from 'socket.io-client';
import { joinFrame, sendFrame } from '../service/src/protocol/frames.js';

export type SystemName = 'service' | 'socketio' | 'centrifuge' | 'ceiling';

export interface Client {
  send(room: string, text: string): void;
  join(room: string): Promise<void>;
  close(): void;
}

export type Connect = (url: string, onText: (text: string) => void) => Promise<Client>;

// The local load balancer's certificate is self-signed.
const TLS = { rejectUnauthorized: false };

function opened(ws: WebSocket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

// The URL's query (a `token` with --auth jwt) is kept on the way to /ws.
const service: Connect = async (url, onText) => {
  const target = new URL(url);
  target.protocol = target.protocol.replace('http', 'ws');
  target.pathname = '/ws';
  const ws = new WebSocket(target, { perMessageDeflate: false, ...TLS });
  const joins = new Map<string, () => void>();
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    if (frame.type === 'message') onText(frame.text);
    else if (frame.type === 'joined') joins.get(frame.room)?.();
  });
  await opened(ws);
  return {
    send: (room, text) => ws.send(sendFrame(room, text)),
    join: (room) =>
      new Promise<void>((resolve) => {
        joins.set(room, resolve);
        ws.send(joinFrame(room, 'bench'));
      }),
    close: () => ws.terminate(),
  };
};

const socketio: Connect = async (url, onText) => {
  const socket: Socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...TLS });
  socket.on('message', (message: { text: string }) => onText(message.text));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return {
    send: (room, text) => socket.emit('send', { room, text }),
    join: (room) => new Promise<void>((resolve) => socket.emit('join', room, () => resolve())),
    close: () => socket.disconnect(),
  };
};

/**
 * Centrifuge's JSON protocol (v2): commands `{"id":n,"connect":{}}`,
 * `{"id":n,"subscribe":{"channel":…}}`, `{"id":n,"publish":{"channel":…,"data":…}}`,
 * answered by replies with the same id; publications arrive as
 * `{"push":{"channel":…,"pub":{"data":…}}}`. A frame may hold several objects,
 * one a line; the server's ping is an empty object, answered with one.
 */
const centrifuge: Connect = async (url, onText) => {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/connection/websocket`, { perMessageDeflate: false, ...TLS });
  const replies = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const command = (body: Record<string, unknown>, awaited: boolean): Promise<void> => {
    const id = ++nextId;
    ws.send(JSON.stringify({ id, ...body }));
    if (!awaited) return Promise.resolve();
    return new Promise<void>((resolve, reject) => replies.set(id, { resolve, reject }));
  };
  ws.on('message', (data) => {
    for (const line of String(data).split('\n')) {
      if (line === '') continue;
      const reply = JSON.parse(line);
      if (reply.push?.pub) onText(reply.push.pub.data.text);
      else if (reply.id !== undefined) {
        const waiting = replies.get(reply.id);
        replies.delete(reply.id);
        if (reply.error) waiting?.reject(new Error(`centrifuge error ${reply.error.code}: ${reply.error.message}`));
        else waiting?.resolve();
      } else if (Object.keys(reply).length === 0) ws.send('{}');
    }
  });
  await opened(ws);
  await command({ connect: {} }, true);
  return {
    send: (room, text) => void command({ publish: { channel: room, data: { text } } }, false),
    join: (room) => command({ subscribe: { channel: room } }, true),
    close: () => ws.terminate(),
  };
};

export const CLIENTS: Record<SystemName, Connect> = { service, socketio, centrifuge, ceiling: service };
