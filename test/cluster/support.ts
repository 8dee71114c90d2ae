// What the cluster tests share: the process tree below a command, so a test
// can check every process it started is gone and kill what is left when it
// fails half-way (children of the local tooling run in process groups of their
// own, so killing the command's group is not enough); and a bounded wait.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { isAlive } from '../../scripts/local/children.js';

/** Every process below pid, from the parent links in /proc. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which may itself hold spaces and parentheses.
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, itsParent] of parentOf) {
      if (itsParent === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** kill -9 the command, everything below it, and the given pids still running. */
export function killTree(pid: number | undefined, also: number[] = []): void {
  const below = pid === undefined ? [] : descendants(pid);
  for (const target of [...below, ...also, ...(pid === undefined ? [] : [pid])]) {
    if (!isAlive(target)) continue;
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The promise's value, or a failure naming what did not happen in time (a test must not hang). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `npm run local` as a child (scripts/local/cli.ts), with its state kept in `stateDir`. */
export function localCli(stateDir: string) {
  return (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/local/cli.ts', ...args], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CHAT_LOCAL_STATE_DIR: stateDir },
    });
}
