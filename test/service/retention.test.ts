// What an idle connection keeps alive. Idle sockets are most of what an
// instance holds, so the upgrade request (headers and all) must not outlive the
// upgrade. Run in a child with --expose-gc, so collection is deterministic.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WEBSOCKET = fileURLToPath(new URL('../../service/src/server/websocket.ts', import.meta.url));

const child = `
import { createServer } from 'node:http';
import { WebSocket } from 'ws';
import { attachWebSocketServer } from ${JSON.stringify(WEBSOCKET)};
const server = createServer();
const requests = [];
let collected = 0;
const registry = new FinalizationRegistry(() => collected++);
server.on('upgrade', (request) => registry.register(request, 'request'));
const sockets = [];
attachWebSocketServer(server, { allowedOrigins: [], refuseReason: () => undefined }, (ws) => sockets.push(ws));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const clients = [];
for (let i = 0; i < 20; i++) {
  const client = new WebSocket('ws://127.0.0.1:' + server.address().port + '/ws', { headers: { 'x-padding': 'p'.repeat(2000) } });
  await new Promise((resolve) => client.once('open', resolve));
  clients.push(client);
}
for (let i = 0; i < 10 && collected < 20; i++) {
  await new Promise((resolve) => setTimeout(resolve, 20));
  globalThis.gc();
}
console.log(JSON.stringify({ open: sockets.filter((s) => s.readyState === 1).length, collected }));
process.exit(0);
`;

it('lets the upgrade request go once the WebSocket is open', async () => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', child], { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  const { open, collected } = JSON.parse(out.trim().split('\n').pop()!);
  assert.equal(open, 20, 'all 20 connections are open');
  assert.equal(collected, 20, 'and none of their upgrade requests is kept alive');
});
