// `--record FILE`: the figures the README and docs/loadtest.md quote from a
// run, in a small JSON file meant to be committed (loadtest/results/ is not),
// with what a reader needs to trust them: the command, the date, the machine
// and the commit of the code measured. The docs point at its values with
// `<!-- fig: FILE#path -->` markers, checked by test/docs/figures.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { count, crossInstanceShare, type SummaryFile } from './digest.js';
import { failedThresholds } from './lib/summary.js';

export interface Provenance {
  /** The command as a reader would type it. */
  command: string;
  /** ISO time the run ended. */
  date: string;
  /** What ran k6, the instances and Redis: figures of a shared machine mean little without it. */
  machine: { cpus: number; cpu_model: string; memory_gib: number };
  /** The commit measured; `dirty` when tracked files differed from it. */
  git: { commit: string; dirty: boolean };
}

export interface LoadRecord extends Provenance {
  scenario: string;
  /** The wrapper's exit code: 0 passed, 99 a threshold failed, 3 too few instances. */
  exit_code: number;
  /** The k6 thresholds the run crossed, as `metric: expression`, sorted; empty when all passed. */
  failed_thresholds: string[];
  duration_s: number;
  connections: number;
  connections_per_instance: Record<string, number>;
  messages: { sent: number; received: number; missing: number; duplicated: number; out_of_order: number };
  cross_instance: { deliveries: number; share_percent: number };
  /** Receive time − send time on k6's clock. */
  delivery_latency_ms: { p50: number; p95: number; p99: number };
}

function trend(summary: SummaryFile, metric: string, stat: string): number {
  const value = summary.data.metrics[metric]?.values?.[stat];
  if (value === undefined) throw new Error(`the summary has no ${metric} ${stat}`);
  return Math.round(value * 10) / 10;
}

/** The quoted figures of one run, from k6's summary (loadtest/lib/summary.js) and the wrapper's verdict. */
export function loadRecord(summary: SummaryFile & { run: { scenario: string } }, exitCode: number, provenance: Provenance): LoadRecord {
  const perInstance = Object.fromEntries(Object.entries(summary.connectionsPerInstance).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    scenario: summary.run.scenario,
    ...provenance,
    exit_code: exitCode,
    failed_thresholds: failedThresholds(summary.data),
    duration_s: Math.round((summary.data.state?.testRunDurationMs ?? 0) / 100) / 10,
    connections: Object.values(perInstance).reduce((a, b) => a + b, 0),
    connections_per_instance: perInstance,
    messages: {
      sent: count(summary, 'messages_sent'),
      received: count(summary, 'messages_received'),
      missing: count(summary, 'messages_missing'),
      duplicated: count(summary, 'messages_duplicated'),
      out_of_order: count(summary, 'messages_out_of_order'),
    },
    cross_instance: { deliveries: count(summary, 'cross_instance_deliveries'), share_percent: Number(crossInstanceShare(summary).toFixed(1)) },
    delivery_latency_ms: {
      p50: trend(summary, 'delivery_latency', 'med'),
      p95: trend(summary, 'delivery_latency', 'p(95)'),
      p99: trend(summary, 'delivery_latency', 'p(99)'),
    },
  };
}

/** The provenance of a run of this checkout, ending now. */
export function provenance(root: string, args: string[]): Provenance {
  const git = (...gitArgs: string[]) => execFileSync('git', gitArgs, { cwd: root, encoding: 'utf8' }).trim();
  const cpuList = cpus();
  return {
    command: ['npm run loadtest --', ...args].join(' '),
    date: new Date().toISOString(),
    machine: {
      cpus: cpuList.length,
      cpu_model: cpuList[0]?.model.trim() ?? 'unknown',
      memory_gib: Math.round(totalmem() / 2 ** 30),
    },
    git: { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' },
  };
}

export function writeRecord(file: string, record: LoadRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}
