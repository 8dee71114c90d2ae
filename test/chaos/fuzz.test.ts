// Property-based fuzzing of the frame parser and validator: 100,000 inputs,
// and a sample of invalid frames sent to a live instance.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzParser, invalidSample } from '../../chaos/fuzz.js';
import { startRedis, type RedisServer } from '../../scripts/local/redis.js';
import { startInstance, type Instance } from '../../scripts/local/instance.js';
import { connect } from '../helpers/wsClient.js';
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

it('never throws, accepts every valid frame unchanged and answers every broken rule with its code, over 100,000 inputs', () => {
  assert.equal(fuzzParser(100_000).runs, 100_000);
});

it('answers each invalid frame on a live connection with its error frame, and the connection stays open', async () => {
  const sample = invalidSample(200);
  // 40 per connection stays under the abuse limit (a burst of 50 refused frames).
  for (let offset = 0; offset < sample.length; offset += 40) {
    const client = await connect(`${instance.url.replace('http', 'ws')}/ws`);
    for (const [frame, code] of sample.slice(offset, offset + 40)) {
      client.send(frame);
      const error = await client.next<ErrorFrame>((f) => f.type === 'error', `error for ${frame.slice(0, 60)}`);
      assert.equal(error.code, code, frame.slice(0, 80));
    }
    client.send({ type: 'ping', ref: 'still' });
    await client.next((f) => f.type === 'pong' && f.ref === 'still', 'the connection still answers');
    client.close();
  }
});
