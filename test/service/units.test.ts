import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { PayloadDecoder, headerTail, presencePayload } from '../../service/src/bus/payload.js';
import { keys, roomOfChannel } from '../../service/src/bus/keys.js';
import { MemoryStream } from '../../service/src/history/memoryStream.js';
import { TokenBucket } from '../../service/src/server/rateLimit.js';
import { encodeTextFrame, writeFrame } from '../../service/src/server/frameWriter.js';
import { Metrics } from '../../service/src/metrics.js';
import { holdWrites } from '../../service/src/cork.js';
import { Writable } from 'node:stream';
import { messagePrefix } from '../../service/src/protocol/encode.js';
import { clientAddress } from '../../service/src/server/clientAddress.js';
import { BlockList } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { FailureSummary } from '../../service/src/logSummary.js';
import { pino } from 'pino';

describe('bus payload', () => {
  const frame = '{"type":"message","room":"r","id":"7-0"}';
  it('gives other instances the id and the frame, and only the origin the sender and ref', () => {
    const payload = `M7-0${headerTail('a', 'c1', 'tab\there')}${frame}`;
    assert.deepEqual(new PayloadDecoder('b').decode(payload), { kind: 'message', delivery: { id: '7-0', frame } });
    assert.deepEqual(new PayloadDecoder('a').decode(payload), {
      kind: 'message',
      delivery: { id: '7-0', frame, senderConnection: 'c1', ref: 'tab\there' },
    });
    assert.deepEqual(new PayloadDecoder('a').decode(`M7-0${headerTail('a', 'c1', undefined)}${frame}`), {
      kind: 'message',
      delivery: { id: '7-0', frame, senderConnection: 'c1' },
    });
  });
  it('does not mistake an instance whose id is a prefix of another', () => {
    const payload = `M7-0${headerTail('a-1', 'c1', 'r')}${frame}`;
    assert.equal((new PayloadDecoder('a').decode(payload) as { delivery: object }).delivery.hasOwnProperty('senderConnection'), false);
  });
  it('decodes presence and ignores garbage', () => {
    const version = 1_795_798_017_950_123;
    assert.deepEqual(new PayloadDecoder('a').decode(presencePayload({ members: 12, users: 5, version })), { kind: 'presence', members: 12, users: 5, version });
    // Older instances publish no version (0), or connections only: each is counted as its own user.
    assert.deepEqual(new PayloadDecoder('a').decode('P12:5'), { kind: 'presence', members: 12, users: 5, version: 0 });
    assert.deepEqual(new PayloadDecoder('a').decode('P12'), { kind: 'presence', members: 12, users: 12, version: 0 });
    for (const junk of ['', 'X', 'Pabc', 'P1:', 'P1:x', 'P:1', 'P1:2:', 'P1:2:x', 'P1:2:3:4', 'M1-0', 'M1-0\tno newline']) assert.equal(new PayloadDecoder('a').decode(junk), undefined, junk);
  });
});

describe('redis keys', () => {
  it('puts every key of a room in one hash slot and maps channels back to rooms', () => {
    for (const make of [keys.history, keys.meta, keys.presence, keys.presenceTotal, keys.channel]) assert.match(make('r.1'), /\{r\.1\}/);
    assert.match(keys.sent('r.1', 'i:1', 'ref'), /\{r\.1\}/);
    assert.equal(roomOfChannel(keys.channel('a_b-c.d')), 'a_b-c.d');
    assert.equal(roomOfChannel('other'), undefined);
  });
});

describe('MemoryStream', () => {
  it('makes increasing ids, caps its length and reports trimmed reads', () => {
    const stream = new MemoryStream(3);
    const ids = [stream.append('a', 100), stream.append('b', 100), stream.append('c', 99), stream.append('d', 101)];
    assert.deepEqual(ids, ['100-0', '100-1', '100-2', '101-0']);
    const prefix = messagePrefix('r');
    assert.deepEqual(stream.read(prefix, { last: 2 }, 10).messages.map((m) => m.id), ['100-2', '101-0']);
    assert.deepEqual(stream.read(prefix, { since: '100-1' }, 10), {
      messages: [
        { id: '100-2', frame: `${prefix}100-2c` },
        { id: '101-0', frame: `${prefix}101-0d` },
      ],
      recovered: true,
      head: '101-0',
      epoch: stream.epoch,
    });
    assert.equal(stream.read(prefix, { since: '100-0' }, 10).recovered, true, 'the newest id trimmed: nothing after it is missing');
    assert.equal(stream.read(prefix, { since: '100-1', epoch: 'other' }, 10).recovered, false, 'another epoch');
    assert.equal(stream.read(prefix, { since: '100-5' }, 10).recovered, false, 'an id the stream never had');
    assert.equal(stream.read(prefix, { since: '99-0' }, 10).recovered, false);
    assert.deepEqual(stream.read(prefix, { last: 0 }, 10).messages, []);
  });
});

describe('TokenBucket', () => {
  it('allows a burst of its capacity, then its rate', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 4, () => now);
    assert.deepEqual([1, 2, 3, 4, 5].map(() => bucket.take()), [true, true, true, true, false]);
    now = 500;
    assert.deepEqual([bucket.take(), bucket.take()], [true, false]);
    now = 100_000;
    assert.equal([1, 2, 3, 4, 5].filter(() => bucket.take()).length, 4, 'never more than the capacity');
  });
});

describe('frame writer', () => {
  it('frames payloads of every length class the way a ws client reads them', async () => {
    const texts = ['', 'a', 'é'.repeat(62) + 'x', 'x'.repeat(126), 'y'.repeat(65535), 'z'.repeat(70000)];
    assert.deepEqual([...encodeTextFrame('hi')], [0x81, 2, 0x68, 0x69]);
    const server = createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => {
      const socket = (ws as unknown as { _socket: Socket })._socket;
      for (const text of texts) writeFrame(socket, encodeTextFrame(text));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const received: string[] = [];
      await new Promise<void>((resolve, reject) => {
        client.on('message', (data) => {
          received.push(String(data));
          if (received.length === texts.length) resolve();
        });
        client.on('error', reject);
      });
      assert.deepEqual(received, texts);
      client.close();
    } finally {
      wss.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('holdWrites', () => {
  /** A stream that records how its chunks reached the underlying write: alone or together. */
  const recording = () => {
    const calls: string[][] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        calls.push([String(chunk)]);
        done();
      },
      writev(chunks, done) {
        calls.push(chunks.map((c) => String(c.chunk)));
        done();
      },
    });
    return { stream, calls };
  };
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('sends what was written in one turn of the event loop as one write, at the end of the turn', async () => {
    const a = recording();
    const b = recording();
    for (const text of ['1', '2', '3']) {
      holdWrites(a.stream);
      a.stream.write(text);
      holdWrites(b.stream);
      b.stream.write(text.repeat(2));
    }
    assert.deepEqual(a.calls, [], 'nothing leaves before the turn ends');
    await nextTurn();
    assert.deepEqual(a.calls, [['1', '2', '3']]);
    assert.deepEqual(b.calls, [['11', '22', '33']]);
    holdWrites(a.stream);
    a.stream.write('4');
    await nextTurn();
    assert.deepEqual(a.calls, [['1', '2', '3'], ['4']], 'the next turn is a write of its own');
  });

  it('leaves a stream corked by its owner to its owner', async () => {
    const a = recording();
    a.stream.cork();
    holdWrites(a.stream);
    a.stream.write('x');
    await nextTurn();
    assert.deepEqual(a.calls, [], 'still corked by its owner');
    a.stream.uncork();
    assert.deepEqual(a.calls, [['x']]);
  });
});

describe('metrics', () => {
  it('renders Prometheus text with live gauges, a cumulative histogram and the default process metrics', async () => {
    let connections = 3;
    const metrics = new Metrics('i"1', { connections: () => connections, rooms: () => 2, busReady: () => true, draining: () => false });
    metrics.messagesReceived.inc(5);
    metrics.deliveryLatency.observe(0.003);
    metrics.deliveryLatency.observe(0.2);
    connections = 4;
    const text = await metrics.render();
    assert.match(text, /^chat_connections\{instance="i\\"1"\} 4$/m);
    assert.match(text, /^chat_messages_received_total\{instance="i\\"1"\} 5$/m);
    assert.match(text, /^chat_delivery_latency_seconds_bucket\{le="0.005",instance="i\\"1"\} 1$/m);
    assert.match(text, /^chat_delivery_latency_seconds_bucket\{le="0.25",instance="i\\"1"\} 2$/m);
    assert.match(text, /^chat_delivery_latency_seconds_count\{instance="i\\"1"\} 2$/m);
    assert.match(text, /# TYPE chat_redis_reconnects_total counter/);
    assert.match(text, /# TYPE chat_slow_consumers_dropped_total counter/);
    // prom-client's defaults: what operators look for first on a Node service.
    for (const name of ['nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_active_handles_total', 'process_cpu_seconds_total']) {
      assert.match(text, new RegExp(`^${name}\\{instance="i\\\\"1"\\} `, 'm'), name);
    }
  });
});

describe('clientAddress', () => {
  const request = (peer: string, forwarded?: string) =>
    ({ socket: { remoteAddress: peer }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage;
  const trusted = new BlockList();
  trusted.addSubnet('10.0.0.0', 16, 'ipv4');

  it('believes X-Forwarded-For only from a trusted peer, and only up to the first untrusted hop', () => {
    assert.equal(clientAddress(request('203.0.113.9', '198.51.100.1'), trusted), '203.0.113.9', 'an untrusted peer speaks for itself');
    assert.equal(clientAddress(request('10.0.1.2', '198.51.100.1'), trusted), '198.51.100.1');
    // The client wrote the leftmost entry itself; the balancer appended what it saw.
    assert.equal(clientAddress(request('10.0.1.2', '1.2.3.4, 198.51.100.1'), trusted), '198.51.100.1');
    assert.equal(clientAddress(request('10.0.1.2', '198.51.100.1, 10.0.3.3'), trusted), '198.51.100.1', 'past trusted hops');
    assert.equal(clientAddress(request('10.0.1.2', 'garbage, 10.0.3.3'), trusted), '10.0.3.3', 'stops at what is not an address');
    assert.equal(clientAddress(request('10.0.1.2'), trusted), '10.0.1.2', 'no header: the peer');
    assert.equal(clientAddress(request('::ffff:203.0.113.9'), new BlockList()), '203.0.113.9', 'IPv4-mapped peers read as IPv4');
  });
});

describe('FailureSummary', () => {
  it('logs the first failure of a kind at once, then one line with the count per window', async () => {
    const lines: string[] = [];
    const summary = new FailureSummary(pino({ level: 'warn' }, { write: (line: string) => lines.push(line) }), 50);
    for (let i = 0; i < 100; i++) summary.note('catch-up failed', { room: `r${i}` });
    assert.equal(lines.length, 1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(lines.length, 2);
    assert.match(lines[1], /"repeated":99/);
    summary.close();
  });
});
