// `npm run loadtest -- --record FILE`: the quoted figures of a run, taken from
// k6's summary, with the provenance a reader needs, in a file the figures
// mechanism (tools/figures/) can point the docs at.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecord, provenance, writeRecord, type Provenance } from '../../loadtest/record.js';
import { figuresOf } from '../../tools/figures/figures.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The parts of a real smoke run's summary.json (3 instances through HAProxy) the record reads.
const summary = {
  run: { scenario: 'smoke' },
  connectionsPerInstance: { 'local-3': 4, 'local-1': 4, 'local-2': 5 },
  data: {
    state: { testRunDurationMs: 2365.950155 },
    metrics: {
      messages_sent: { values: { count: 120, rate: 50.7 } },
      messages_received: { values: { count: 480, rate: 202.9 } },
      messages_missing: { values: { count: 2, rate: 0.8 }, thresholds: { 'count==0': { ok: false } } },
      messages_duplicated: { values: { count: 0, rate: 0 } },
      messages_out_of_order: { values: { count: 1, rate: 0.4 } },
      cross_instance_deliveries: { values: { count: 300, rate: 126.8 } },
      delivery_latency: { values: { avg: 7.56, min: 0, med: 5, 'p(90)': 17.1, 'p(95)': 25.09999999999991, 'p(99)': 30, max: 35 }, thresholds: { 'p(95)<250': { ok: true } } },
      checks: { values: { rate: 0.9, passes: 9, fails: 1 }, thresholds: { 'rate==1': { ok: false } } },
    },
  },
};

const origin: Provenance = {
  command: 'npm run loadtest -- --scenario smoke --record r.json',
  date: '2026-11-27T13:00:00.000Z',
  machine: { cpus: 2, cpu_model: 'a CPU', memory_gib: 24 },
  git: { commit: 'f'.repeat(40), dirty: false },
};

it('keeps the figures the docs quote, rounded as they are quoted, and the verdict', () => {
  const record = loadRecord(summary, 99, origin);
  assert.deepEqual(record, {
    scenario: 'smoke',
    ...origin,
    exit_code: 99,
    failed_thresholds: ['checks: rate==1', 'messages_missing: count==0'],
    duration_s: 2.4,
    connections: 13,
    connections_per_instance: { 'local-1': 4, 'local-2': 5, 'local-3': 4 },
    messages: { sent: 120, received: 480, missing: 2, duplicated: 0, out_of_order: 1 },
    cross_instance: { deliveries: 300, share_percent: 62.5 },
    delivery_latency_ms: { p50: 5, p95: 25.1, p99: 30 },
  });
  assert.deepEqual(Object.keys(record.connections_per_instance), ['local-1', 'local-2', 'local-3'], 'instances in order, whatever order k6 gave');
});

it('refuses a summary without the latency it must quote, rather than recording a hole', () => {
  const { delivery_latency: _, ...metrics } = summary.data.metrics;
  assert.throws(() => loadRecord({ ...summary, data: { ...summary.data, metrics } }, 0, origin), /no delivery_latency med/);
});

it('names the commit measured, whether the checkout differed from it, the machine and the command', () => {
  const found = provenance(root, ['--scenario', 'load', '--record', 'docs/results/loadtest/load.json']);
  assert.equal(found.command, 'npm run loadtest -- --scenario load --record docs/results/loadtest/load.json');
  assert.equal(found.git.commit, execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim());
  assert.equal(found.git.dirty, execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }) !== '');
  assert.equal(found.machine.cpus, cpus().length);
  assert.ok(found.machine.memory_gib >= 1);
  assert.ok(Math.abs(Date.parse(found.date) - Date.now()) < 60_000);
});

it('writes a file the docs can quote through the figure markers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-record-'));
  try {
    const file = join(dir, 'nested', 'load.json');
    writeRecord(file, loadRecord(summary, 0, origin));
    const written = JSON.parse(readFileSync(file, 'utf8'));
    const doc = [
      '<!-- fig: r.json#messages.received digits=0 -->480<!-- /fig --> delivered,',
      '<!-- fig: r.json#cross_instance.share_percent digits=1 -->62.5<!-- /fig --> % across instances,',
      'p99 <!-- fig: r.json#delivery_latency_ms.p99 digits=0 -->31<!-- /fig --> ms',
    ].join('\n');
    assert.deepEqual(
      figuresOf('doc.md', doc, () => written).map((f) => [f.shown, f.expected]),
      [
        ['480', '480'],
        ['62.5', '62.5'],
        ['31', '30'],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
