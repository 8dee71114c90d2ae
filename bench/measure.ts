// Measuring processes from the outside: CPU time and resident memory from
// /proc, so the servers are judged by what they spent, not by what the
// driver managed to push.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User + system CPU time of a process (all its threads), in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

export function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

export const sumCpuMs = (pids: number[]) => pids.reduce((total, pid) => total + cpuMs(pid), 0);

/** Write-type system calls (write, writev, sendmsg…) a process has made, from /proc/<pid>/io: how many socket writes its deliveries took. */
export function writeSyscalls(pid: number): number {
  return Number(/syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}

export const sumWriteSyscalls = (pids: number[]) => pids.reduce((total, pid) => total + writeSyscalls(pid), 0);

/**
 * Times the threads of a process gave up the CPU to wait (voluntary context
 * switches, summed over /proc/<pid>/task/*): each is a sleep in epoll or on a
 * futex followed by a wake-up, so per delivery they show how often each system
 * is woken for the same work.
 */
export function wakeups(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return total;
}

export const sumWakeups = (pids: number[]) => pids.reduce((total, pid) => total + wakeups(pid), 0);

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(values: number[]): number {
  return percentile(values, 50);
}
