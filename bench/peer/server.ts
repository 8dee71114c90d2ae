// BENCHMARK PEER — not part of the product. The same chat semantics as the
// service (rooms; a message broadcast to its room across instances) written
// the usual Node way: Socket.IO with @socket.io/redis-adapter, minimal and
// idiomatic, WebSocket transport only. Configured like the service: PORT,
// HOST, REDIS_URL, INSTANCE_ID.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const origin = process.env.INSTANCE_ID ?? `peer-${process.pid}`;
const redisUrl = process.env.REDIS_URL;

const http = createServer((req, res) => {
  res.writeHead(req.url === '/readyz' ? 200 : 404).end();
});
const io = new Server(http, { transports: ['websocket'], serveClient: false });
if (redisUrl) {
  const pub = new Redis(redisUrl);
  io.adapter(createAdapter(pub, pub.duplicate()));
}

io.on('connection', (socket) => {
  socket.emit('hello', { instance: origin });
  socket.on('join', (room: string, ack?: () => void) => {
    void socket.join(room);
    ack?.();
  });
  socket.on('send', (message: { room: string; text: string }) => {
    io.to(message.room).emit('message', { room: message.room, text: message.text, ts: Date.now(), origin });
  });
});

http.listen(port, host);
process.on('SIGTERM', () => process.exit(0));
