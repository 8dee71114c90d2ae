// Property-based fuzzing of the frame parser and validator (100,000 inputs,
// judged by an independent oracle), and a sample of invalid frames sent to a
// live instance: an error frame for each, on a connection that stays open.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzParser, invalidSample } from '../../chaos/fuzz.js';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { connect, type TestClient } from '../helpers/wsClient.js';
import type { ErrorFrame } from '../../service/src/protocol/frames.js';

let redis: RedisServer;
let instance: Instance;
before(async () => {
  redis = await startRedis();
  instance = await startInstance({ instanceId: 'fuzz', redisUrl: redis.url, env: { DRAIN_SECONDS: '0' } });
});
after(async () => {
  await instance?.stop('SIGKILL');
  await redis?.stop();
});

const wsUrl = () => `${instance.url.replace('http', 'ws')}/ws`;

async function assertStillOpen(client: TestClient, ref: string): Promise<void> {
  client.send({ type: 'ping', ref });
  await client.next((f) => f.type === 'pong' && 'ref' in f && f.ref === ref, 'the connection still answers');
}

it('never throws, accepts exactly the valid frames and refuses the rest with the right code, over 100,000 inputs', () => {
  assert.equal(fuzzParser(100_000).runs, 100_000);
});

it('answers each invalid frame on a live connection with its error frame, and the connection stays open', async () => {
  const sample = invalidSample(400);
  assert.ok(sample.some((c) => Buffer.isBuffer(c.payload)), 'the sample holds frames that are not UTF-8');
  // 40 per connection stays under the abuse limit (a burst of 50 refused frames).
  for (let offset = 0; offset < sample.length; offset += 40) {
    const client = await connect(wsUrl());
    try {
      for (const { payload, codes } of sample.slice(offset, offset + 40)) {
        const shown = String(payload).slice(0, 80);
        client.ws.send(payload, { binary: false });
        const error = await client.next<ErrorFrame>((f) => f.type === 'error', `error for ${shown}`);
        assert.ok(codes.includes(error.code), `${shown}: got ${error.code}, expected one of ${codes.join(', ')}`);
      }
      await assertStillOpen(client, `after-${offset}`);
    } finally {
      client.close();
    }
  }
});

it('answers a join whose since lies beyond what Redis can read after with bad_request or a join, never unavailable', async () => {
  const client = await connect(wsUrl());
  try {
    for (const since of ['18446744073709551616-0', '0-18446744073709551616', '99999999999999999999-0', '18446744073709551615-18446744073709551615']) {
      client.send({ type: 'join', room: 'edge', name: 'edge', since });
      const answer = await client.next((f) => f.type === 'joined' || f.type === 'error', `answer to since ${since}`);
      if (answer.type === 'joined') {
        client.send({ type: 'leave', room: 'edge' });
        await client.next((f) => f.type === 'left', 'left');
      } else {
        assert.equal((answer as ErrorFrame).code, 'bad_request', `since ${since}`);
      }
    }
    await assertStillOpen(client, 'after-since');
  } finally {
    client.close();
  }
});
