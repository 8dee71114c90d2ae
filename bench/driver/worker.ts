// One driver process: holds its share of the clients, sends its share of the
// offered rate at evenly spread times, and counts and times what its clients
// receive. Started by pool.ts; talks over IPC (messages.ts).
import { CLIENTS, type Client } from '../clients.js';
import { clockMs, type Reply, type Request } from './messages.js';
import { SEND_TICK_MS } from '../limits.js';

const clients: Client[] = [];
let window = '';
let deliveries = 0;
let latencies: number[] = [];

function onText(text: string): void {
  if (window === '' || !text.startsWith(window)) return;
  deliveries++;
  latencies.push(clockMs() - Number(text.slice(text.lastIndexOf(':') + 1)));
}

async function open(request: Extract<Request, { op: 'open' }>): Promise<Reply> {
  const connect = CLIENTS[request.system];
  const first = clients.length;
  const opened: Client[] = new Array(request.clients.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(request.inFlight, request.clients.length) }, async () => {
      while (next < request.clients.length) {
        const index = next++;
        const spec = request.clients[index];
        const client = await connect(spec.url, onText);
        opened[index] = client;
        await Promise.all(spec.rooms.map((room) => client.join(room)));
      }
    }),
  );
  // In the order asked for, after those already open: the caller addresses them as first + its index.
  clients.push(...opened);
  return { op: 'opened', first };
}

function send(request: Extract<Request, { op: 'send' }>): Promise<Reply> {
  return new Promise((resolve) => {
    if (request.senders.length === 0 || request.perSecond <= 0) return resolve({ op: 'sent', sent: 0 });
    let sent = 0;
    let started = 0;
    const tick = () => {
      const elapsed = (clockMs() - started) / 1000;
      const owed = Math.min(request.seconds, elapsed) * request.perSecond;
      while (sent < owed) {
        const { client, room } = request.senders[sent % request.senders.length];
        clients[client].send(room, `${request.window}:${sent}:${clockMs()}`);
        sent++;
      }
      if (elapsed >= request.seconds) {
        clearInterval(timer);
        resolve({ op: 'sent', sent });
      }
    };
    let timer: NodeJS.Timeout;
    setTimeout(() => {
      started = clockMs();
      timer = setInterval(tick, SEND_TICK_MS);
    }, request.offsetMs);
  });
}

async function handle(request: Request): Promise<Reply> {
  switch (request.op) {
    case 'open':
      return open(request);
    case 'window':
      window = request.window;
      deliveries = 0;
      latencies = [];
      return { op: 'ok' };
    case 'send':
      return send(request);
    case 'count':
      return { op: 'count', deliveries };
    case 'collect': {
      const reply: Reply = { op: 'collected', deliveries, latencies: Float64Array.from(latencies) };
      window = '';
      latencies = [];
      return reply;
    }
    case 'close':
      for (const client of clients.splice(0)) client.close();
      return { op: 'ok' };
  }
}

process.on('message', (message: { seq: number; request: Request }) => {
  handle(message.request).then(
    (reply) => process.send!({ seq: message.seq, reply }),
    (error: Error) => process.send!({ seq: message.seq, reply: { op: 'failed', message: error.message } }),
  );
});
process.on('disconnect', () => process.exit(0));
