// Every child process the local tooling starts is registered here and killed
// when the parent exits, however it exits, so a failing test leaves nothing behind.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll(): void {
  for (const child of children) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
}

process.once('exit', killAll);

// A signal whose default action ends the process skips 'exit', and the children
// live in process groups of their own, so they would outlive a harness stopped
// with Ctrl-C, a CI timeout or a closed terminal. When nothing else handles the
// signal (the CLI does, to drain first), kill them and end the process as the
// signal would have.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  const onSignal = () => {
    if (process.listenerCount(signal) > 1) return;
    killAll();
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  };
  process.on(signal, onSignal);
}

/** Lines of a stream, handed one at a time to the callback. */
export function eachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.length > 0) onLine(line);
  });
  stream.on('end', () => {
    if (rest.length > 0) onLine(rest);
  });
}

/** Resolves with the exit code (null when killed by a signal) once the child has exited. */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

const HAS_PROC = existsSync('/proc/self/stat');

/** Whether a process with this pid (or, negative, a process group) still runs. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (pid <= 0 || !HAS_PROC) return true;
  // A zombie has exited and holds no port or file; it only waits to be reaped,
  // which an orphan's new parent may do late. But the main thread of a
  // multi-threaded process (HAProxy, Redis, node) shows Z as soon as it exits,
  // while other threads still hold its sockets; it has exited once it is the
  // last task left.
  try {
    return processState(pid) !== 'Z' || readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false; // gone between the two looks
  }
}

/** The state letter in /proc/<pid>/stat (R, S, Z, ...). */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}
