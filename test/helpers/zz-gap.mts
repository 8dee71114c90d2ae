import { startRedis } from '/work/wt/service/scripts/local/redis.js';
import { startInstance } from '/work/wt/service/scripts/local/instance.js';
import { joinAs, sleep } from '/work/wt/service/test/helpers/wsClient.js';
import { startTcpProxy } from '/work/wt/service/test/helpers/tcpProxy.js';
import { Redis } from '/work/wt/service/node_modules/ioredis/built/index.js';
const redis = await startRedis();
const admin = new (Redis as any)(redis.url);
const proxy = await startTcpProxy({ port: redis.port });
const inst = await startInstance({ instanceId: 'g', redisUrl: `redis://127.0.0.1:${proxy.port}`, env: { DRAIN_SECONDS: '0', LOG_LEVEL: 'debug' } });
const w = await startInstance({ instanceId: 'w', redisUrl: redis.url, env: { DRAIN_SECONDS: '0' } });
try {
  const c = await joinAs(`ws://127.0.0.1:${inst.port}/ws`, 'gap', 'a');
  const writer = await joinAs(`ws://127.0.0.1:${w.port}/ws`, 'gap', 'w');
  writer.send({ type: 'send', room: 'gap', text: 'one', ref: '1' });
  await c.next((f) => f.type === 'message', 'one');
  proxy.refuse(true); proxy.cut();
  await sleep(1000);
  await admin.del(...(await admin.keys('chat:{gap}:*')));
  writer.send({ type: 'send', room: 'gap', text: 'two', ref: '2' });
  await sleep(300);
  proxy.refuse(false);
  await c.next((f) => (f as any).type === 'gap', 'gap', 10000);
  c.send({ type: 'join', room: 'gap', name: 'a', since: c.messages('gap')[0].id });
  await sleep(2000);
  console.log(JSON.stringify(c.frames));
  console.log(inst.logs.slice(-10).join('\n'));
  c.ws.terminate(); writer.ws.terminate();
} finally { admin.disconnect(); await inst.stop('SIGKILL'); await w.stop('SIGKILL'); await proxy.close(); await redis.stop(); }
