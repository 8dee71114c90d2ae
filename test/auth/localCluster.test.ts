// `npm run local -- --auth jwt`: through the local HAProxy, the page's way in
// works (a development token per tab, then the WebSocket with it), a missing
// token is refused, and the publish API is not reachable through the proxy
// unless exposed, while it answers on the instance itself.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { startCluster, type Cluster } from '../../scripts/local/cluster.js';
import { haproxyConfig } from '../../scripts/local/haproxy.js';
import { mintToken } from '../../scripts/local/auth.js';
import { connect, type TestClient } from '../helpers/wsClient.js';
import type { MessageFrame } from '../../service/src/protocol/frames.js';
import { refusal } from './support.js';

const KEY = 'local-publish-key-of-at-least-32-characters';

function httpsCall(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { method, headers, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    })
      .on('error', reject)
      .end(body);
  });
}

describe('HAProxy and the publish API', () => {
  const base = { httpsPort: 8443, httpPort: 8000, certPath: '/s/tls.pem', statsSocket: '/s/sock', backends: [{ name: 'a', port: 9001 }] };
  it('refuses /api/ at the proxy unless the publish API is exposed', () => {
    assert.match(haproxyConfig(base), /http-request deny deny_status 404 if \{ path_beg \/api\/ \}/);
    assert.doesNotMatch(haproxyConfig({ ...base, exposePublishApi: true }), /path_beg \/api\//);
  });
});

describe('local cluster with --auth jwt', () => {
  let cluster: Cluster;
  const clients: TestClient[] = [];

  before(async () => {
    cluster = await startCluster({ instances: 2, auth: 'jwt', publishApiKey: KEY, env: { DRAIN_SECONDS: '0' } });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await cluster?.stop();
  });

  it('lets a tab in with a development token and refuses one without', async () => {
    const minted = await httpsCall(`${cluster.url}/dev/token?name=Tab&sub=tab-1`, 'GET');
    assert.equal(minted.status, 200);
    const { token } = JSON.parse(minted.body) as { token: string };
    const tab = await connect(`${cluster.wsUrl}?token=${token}`);
    clients.push(tab);
    tab.send({ type: 'join', room: 'lobby', name: 'Tab' });
    await tab.next((f) => f.type === 'joined', 'joined lobby');
    tab.send({ type: 'send', room: 'lobby', text: 'hello', ref: 'm' });
    assert.equal((await tab.next<MessageFrame>((f) => f.type === 'message' && f.ref === 'm', 'own message')).name, 'Tab');

    const refused = await refusal(cluster.wsUrl);
    assert.equal(refused.status, 401);
    assert.match(refused.body, /a token is required/);
  });

  it('takes tokens the tools mint with the cluster secret', async () => {
    const client = await connect(`${cluster.wsUrl}?token=${await mintToken(cluster.auth!, 'k6-vu-1', 'vu 1')}`);
    clients.push(client);
    assert.ok(client.hello.instance.startsWith('local-'));
  });

  it('keeps the publish API off the public listener, while the instance answers it', async () => {
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ name: 'Bot', text: 'hi' });
    const proxied = await httpsCall(`${cluster.url}/api/rooms/lobby/messages`, 'POST', headers, body);
    assert.equal(proxied.status, 404);
    const direct = await fetch(`${cluster.instances[0].url}/api/rooms/lobby/messages`, { method: 'POST', headers, body });
    assert.equal(direct.status, 201);
  });
});
