// The driver processes of one system run: started apart from the coordinator
// so the clients' work is spread over cores (and, on machines with 4 or more,
// pinned away from the servers), each answering requests over IPC.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track, exitOf } from '../../scripts/local/children.js';
import { pin } from '../systems.js';
import type { Reply, Request } from './messages.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export interface Drivers {
  pids: number[];
  size: number;
  /** Sends one request to driver `i` and resolves with its reply (a failure rejects). */
  ask<R extends Reply['op']>(i: number, request: Request): Promise<Extract<Reply, { op: R }>>;
  /** The same (or a per-driver) request to every driver. */
  all<R extends Reply['op']>(request: Request | ((i: number) => Request)): Promise<Array<Extract<Reply, { op: R }>>>;
  stop(): Promise<void>;
}

export async function startDrivers(count: number, cores?: string): Promise<Drivers> {
  const children: ChildProcess[] = [];
  const waiting = new Map<number, (reply: Reply) => void>();
  let seq = 0;
  for (let i = 0; i < count; i++) {
    const child = track(
      spawn(process.execPath, ['--import', 'tsx', WORKER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', detached: true }),
    );
    child.on('message', (message: { seq: number; reply: Reply }) => {
      waiting.get(message.seq)?.(message.reply);
      waiting.delete(message.seq);
    });
    pin(child.pid!, cores);
    children.push(child);
  }
  const ask = <R extends Reply['op']>(i: number, request: Request) =>
    new Promise<Extract<Reply, { op: R }>>((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, (reply) => (reply.op === 'failed' ? reject(new Error(`driver ${i}: ${reply.message}`)) : resolve(reply as Extract<Reply, { op: R }>)));
      children[i].send({ seq: id, request });
    });
  return {
    pids: children.map((c) => c.pid!),
    size: count,
    ask,
    all: <R extends Reply['op']>(request: Request | ((i: number) => Request)) =>
      Promise.all(children.map((_, i) => ask<R>(i, typeof request === 'function' ? request(i) : request))) as Promise<Array<Extract<Reply, { op: R }>>>,
    stop: async () => {
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(children.map((c) => exitOf(c)));
    },
  };
}
