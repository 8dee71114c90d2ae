// `npm run local` in the foreground, as a developer runs it: the URL and every
// instance's port are printed, the logs of every process are merged and
// prefixed, and Ctrl-C (SIGINT to the terminal's process group) or SIGTERM
// drains the instances and leaves no process, port or state file behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitOf, isAlive } from '../../scripts/local/children.js';
import { assertPortFree, freePort, freePortBlock } from '../../scripts/local/ports.js';
import { connect, eventually } from '../helpers/wsClient.js';
import { descendants, killTree, within } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');

const ways = [
  { name: 'Ctrl-C (SIGINT to the process group)', send: (pid: number) => process.kill(-pid, 'SIGINT') },
  { name: 'SIGTERM to the command', send: (pid: number) => process.kill(pid, 'SIGTERM') },
];

describe('npm run local in the foreground', () => {
  for (const way of ways) {
    it(`${way.name} drains the instances and leaves nothing behind`, async () => {
      const stateDir = mkdtempSync(join(tmpdir(), 'chat-local-fg-'));
      const ports = { https: await freePort(), http: await freePort(), redis: await freePort(), base: await freePortBlock(2) };
      // The same command `npm run local` ends with, in a process group of its own as in a terminal.
      const cli = spawn(
        TSX,
        ['scripts/local/cli.ts', '--instances', '2', '--https-port', String(ports.https), '--http-port', String(ports.http),
          '--base-port', String(ports.base), '--redis-port', String(ports.redis), '--drain-seconds', '1'],
        { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHAT_LOCAL_STATE_DIR: stateDir } },
      );
      const exited = exitOf(cli);
      let out = '';
      let errors = '';
      cli.stdout.on('data', (chunk) => (out += chunk));
      cli.stderr.on('data', (chunk) => (errors += chunk));
      let processes: number[] = [];
      try {
        await eventually(() => out.includes('Ctrl-C drains') || cli.exitCode !== null, 'the cluster is up', 60_000);
        assert.match(out, /Ctrl-C drains/, `did not start: ${errors}`);

        assert.match(out, new RegExp(`chat is up at https://127\\.0\\.0\\.1:${ports.https}`));
        assert.match(out, new RegExp(`local-1: http://127\\.0\\.0\\.1:${ports.base}\\b`));
        assert.match(out, new RegExp(`local-2: http://127\\.0\\.0\\.1:${ports.base + 1}\\b`));
        // HAProxy is quiet until it has traffic to log.
        const redirect = await fetch(`http://127.0.0.1:${ports.http}/`, { redirect: 'manual' });
        assert.equal(redirect.status, 301);
        await eventually(() => /^\[haproxy\] +\S/m.test(out), 'a log line prefixed [haproxy]', 5000);
        for (const source of ['redis', 'local-1', 'local-2']) {
          assert.match(out, new RegExp(`^\\[${source}\\] +\\S`, 'm'), `log lines prefixed [${source}]`);
        }
        assert.ok(existsSync(join(stateDir, 'cluster.json')), 'state file written');

        const client = await connect(`wss://127.0.0.1:${ports.https}/ws`);
        client.send({ type: 'join', room: 'fg', name: 'dev' });
        await client.next((frame) => frame.type === 'joined', 'joined');
        processes = descendants(cli.pid!);
        // tsx, the CLI, redis-server, HAProxy and two instances at least.
        assert.ok(processes.length >= 5, `processes under the command: ${processes.length}`);

        way.send(cli.pid!);
        const closed = await within(client.closed, 15_000, 'the WebSocket closed by the drain');
        assert.equal(closed.code, 1001, 'the instance drained and said it was going away');
        const code = await within(exited, 30_000, 'the command exited');
        assert.equal(code, 0, errors);
        assert.match(out, /draining 2 instances/);
        assert.match(out, /local: stopped/);

        await eventually(() => processes.every((pid) => !isAlive(pid)), 'every process gone', 5000);
        for (const port of Object.values(ports).concat(ports.base + 1)) await assertPortFree(port, 'after stop');
        assert.equal(existsSync(join(stateDir, 'cluster.json')), false, 'state file removed');
      } finally {
        killTree(cli.exitCode === null ? cli.pid : undefined, processes);
        rmSync(stateDir, { recursive: true, force: true });
      }
    });
  }
});
