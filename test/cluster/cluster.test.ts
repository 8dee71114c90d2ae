// The local cluster: HAProxy terminating TLS in front of three instances and
// one Redis, started on free ports, exercised over wss, and stopped clean.
import { after, before, describe, it } from 'node:test';
import { localCli } from './support.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { startCluster, type Cluster } from '../../scripts/local/cluster.js';
import { haproxyConfig } from '../../scripts/local/haproxy.js';
import { assertPortFree, freePort, freePortBlock } from '../../scripts/local/ports.js';
import { isAlive as alive } from '../../scripts/local/children.js';
import { connect, eventually, type TestClient } from '../helpers/wsClient.js';
import type { MessageFrame } from '../../service/src/protocol/frames.js';

describe('HAProxy configuration', () => {
  const config = haproxyConfig({
    httpsPort: 8443,
    httpPort: 8000,
    certPath: '/s/tls.pem',
    statsSocket: '/s/sock',
    backends: [
      { name: 'a', port: 9001 },
      { name: 'b', port: 9002 },
    ],
  });
  it('terminates TLS, redirects HTTP with 301, balances round robin and checks /readyz', () => {
    assert.match(config, /bind 127\.0\.0\.1:8443 ssl crt \/s\/tls\.pem/);
    assert.match(config, /redirect location https:\/\/.*:8443%\[capture\.req\.uri\] code 301/);
    assert.match(config, /balance roundrobin/);
    assert.match(config, /http-check send meth GET uri \/readyz/);
    assert.match(config, /http-check expect status 200/);
    assert.match(config, /server a 127\.0\.0\.1:9001 check\n {2}server b 127\.0\.0\.1:9002 check/);
  });
  it('sizes timeouts for long-lived WebSockets and against slowloris', () => {
    assert.match(config, /timeout tunnel 1h/);
    const client = Number(/timeout client (\d+)s/.exec(config)![1]);
    assert.ok(client > 25, 'idle timeout above the 25 s ping interval');
    assert.match(config, /timeout http-request 10s/);
  });
});

describe('local cluster', () => {
  let cluster: Cluster;
  const clients: TestClient[] = [];
  const open = async () => {
    const client = await connect(cluster.wsUrl);
    clients.push(client);
    return client;
  };

  before(async () => {
    cluster = await startCluster({ instances: 3, env: { DRAIN_SECONDS: '1' } });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await cluster?.stop();
  });

  it('reaches every instance round robin over wss', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const client = await open();
      seen.push(client.hello.instance);
      client.close();
    }
    assert.deepEqual(new Set(seen), new Set(['local-1', 'local-2', 'local-3']));
    // Round robin: each run of three consecutive connections covers all three.
    assert.equal(new Set(seen.slice(0, 3)).size, 3);
    assert.equal(new Set(seen.slice(3, 6)).size, 3);
  });

  it('redirects plain HTTP to HTTPS with 301', async () => {
    const response = await fetch(`${cluster.httpUrl}/some/path?x=1`, { redirect: 'manual' });
    assert.equal(response.status, 301);
    assert.equal(response.headers.get('location'), `${cluster.url}/some/path?x=1`);
  });

  it('serves the page over TLS through the balancer', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      request(`${cluster.url}/`, { rejectUnauthorized: false }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    assert.match(body, /id="messages"/);
  });

  it('carries a chat across instances through the balancer', async () => {
    const members: TestClient[] = [];
    while (new Set(members.map((m) => m.hello.instance)).size < 2) members.push(await open());
    const [first, second] = [members[0], members.find((m) => m.hello.instance !== members[0].hello.instance)!];
    for (const m of [first, second]) {
      m.send({ type: 'join', room: 'lb', name: m.hello.instance });
      await m.next((f) => f.type === 'joined', 'joined');
    }
    first.send({ type: 'send', room: 'lb', text: 'across the balancer' });
    const got = await second.next<MessageFrame>((f) => f.type === 'message', 'message through HAProxy');
    assert.equal(got.text, 'across the balancer');
    assert.equal(got.origin, first.hello.instance);
    assert.notEqual(got.origin, second.hello.instance);
  });

  it('takes a killed instance out within its check interval; new connections reach the others', async () => {
    const victim = cluster.instances[1];
    victim.kill();
    await victim.exited;
    const tookMs = await eventually(async () => (await cluster.haproxy.serverStatus())[victim.id] === 'DOWN', 'HAProxy marks it DOWN', 10_000, 20);
    // inter 1 s, fall 2: two failed checks.
    assert.ok(tookMs <= 3000, `out of rotation after ${tookMs} ms`);
    const after = [];
    for (let i = 0; i < 6; i++) {
      const client = await open();
      after.push(client.hello.instance);
      client.close();
    }
    assert.deepEqual(new Set(after), new Set(['local-1', 'local-3']));
  });

  it('stops every process and frees every port', async () => {
    const pids = [cluster.haproxy.pid, cluster.redis!.pid, ...cluster.instances.map((i) => i.pid)];
    const ports = [cluster.httpsPort, cluster.httpPort, cluster.redis!.port, ...cluster.instances.map((i) => i.port)];
    for (const client of clients) client.ws.terminate();
    await cluster.stop();
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} is gone`);
    for (const port of ports) await assertPortFree(port, 'test');
  });
});

describe('npm run local CLI', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'chat-local-cli-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));
  const cli = localCli(stateDir);

  it('refuses an unknown flag or a flag without its value in one line, with usage, no stack trace', () => {
    for (const args of [['--nope'], ['--instances']]) {
      const result = cli(...args);
      assert.equal(result.status, 1, args.join(' '));
      assert.match(result.stderr, /^local: .*(--nope|--instances)/, args.join(' '));
      assert.match(result.stderr, /Usage|usage/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('refuses a port that is taken, naming the flag', async () => {
    const port = await freePort();
    const blocker = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const result = cli('--detach', '--https-port', String(port), '--http-port', String(await freePort()), '--redis-port', String(await freePort()));
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, new RegExp(`port ${port} \\(--https-port\\) is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('refuses a taken instance port, naming the instance it was meant for', async () => {
    const base = await freePortBlock(2);
    const blocker = createServer().listen(base + 1, '127.0.0.1');
    await new Promise((resolve, reject) => blocker.once('listening', resolve).once('error', reject));
    try {
      const result = cli('--detach', '--instances', '2', '--base-port', String(base), '--https-port', String(await freePort()), '--http-port', String(await freePort()), '--redis-port', String(await freePort()));
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, new RegExp(`port ${base + 1} \\(--base-port \\+ 1\\) is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('starts in the background with --detach, returns when ready, and stops with local:stop', async () => {
    const ports = { https: await freePort(), http: await freePort(), redis: await freePort() };
    const base = await freePortBlock(2);
    const started = cli('--detach', '--instances', '2', '--https-port', String(ports.https), '--http-port', String(ports.http), '--base-port', String(base), '--redis-port', String(ports.redis), '--drain-seconds', '0');
    try {
      assert.equal(started.status, 0, started.stderr);
      assert.match(started.stdout, new RegExp(`https://127\\.0\\.0\\.1:${ports.https}`));
      assert.match(started.stdout, new RegExp(`local-2: http://127\\.0\\.0\\.1:${base + 1}`));
      const client = await connect(`wss://127.0.0.1:${ports.https}/ws`);
      assert.match(client.hello.instance, /^local-[12]$/);
      client.ws.terminate();
      const second = cli('--detach', '--https-port', String(await freePort()), '--http-port', String(await freePort()), '--redis-port', String(await freePort()));
      assert.notEqual(second.status, 0);
      assert.match(second.stderr, /a cluster is already running .*npm run local:stop/);
    } finally {
      const stopped = cli('stop');
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.match(stopped.stdout, /cluster stopped/);
    }
    for (const port of [ports.https, ports.http, ports.redis, base, base + 1]) await assertPortFree(port, 'after stop');
  });
});
