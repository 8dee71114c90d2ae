// Bench results as a Markdown table and an SVG chart (latency against offered
// rate, and server CPU per 1,000 deliveries), written by hand: no chart library.
import type { RateResult } from './workloads.js';

export interface Summary {
  machine: string;
  mode: string;
  date: string;
  ratios: Record<string, number>;
  medians: Record<string, Record<string, number>>;
  rates: RateResult[];
}

export function markdown(summary: Summary): string {
  const rows = Object.entries(summary.medians).map(([figure, bySystem]) => `| ${figure} | ${bySystem.service ?? ''} | ${bySystem.socketio ?? ''} | ${bySystem.ceiling ?? ''} |`);
  return [
    `# Benchmark: chat service vs Socket.IO + @socket.io/redis-adapter`,
    '',
    `${summary.date}, ${summary.mode} mode, ${summary.machine}. Medians over the repeats; systems alternated A B A B.`,
    '',
    '| ratio (service / other) | value | target |',
    '|---|---:|---|',
    `| CPU per delivery / Socket.IO | ${summary.ratios.cpu_ratio} | ≤ 0.5 |`,
    `| p99 at the fixed rates / Socket.IO | ${summary.ratios.p99_ratio} | ≤ 1 |`,
    `| peak delivered rate / Socket.IO | ${summary.ratios.peak_ratio} | ≥ 1.5 |`,
    `| memory per idle connection / Socket.IO | ${summary.ratios.memory_ratio} | ≤ 0.5 |`,
    `| CPU per delivery / single-process ceiling | ${summary.ratios.ceiling_ratio} | ≤ 1.4 |`,
    '',
    '| figure (median) | service | Socket.IO | ceiling |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
    '## Every fixed-rate window',
    '',
    '| system | workload | offered/s | delivered/s | lost | server CPU ms / 1000 | p50 ms | p99 ms | driver CPU |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.rates.map(
      (r) => `| ${r.system} | ${r.workload} | ${r.offeredPerSecond} | ${r.deliveredPerSecond} | ${r.lost} | ${r.serverCpuMsPer1000} | ${r.p50Ms} | ${r.p99Ms} | ${(r.driverCpuShare * 100).toFixed(0)}% |`,
    ),
    '',
  ].join('\n');
}

const COLORS: Record<string, string> = { service: '#1f77b4', socketio: '#d62728', ceiling: '#2ca02c' };

export function svg(summary: Summary): string {
  const width = 900;
  const height = 360;
  const pad = 50;
  const half = (width - 3 * pad) / 2;
  const series = new Map<string, RateResult[]>();
  for (const r of summary.rates.filter((x) => x.workload === 'rooms of 20')) {
    const key = r.system;
    series.set(key, [...(series.get(key) ?? []), r]);
  }
  const maxRate = Math.max(...summary.rates.map((r) => r.offeredPerSecond));
  const maxP99 = Math.max(1, ...summary.rates.map((r) => (Number.isFinite(r.p99Ms) ? r.p99Ms : 0)));
  const x = (rate: number) => pad + (rate / maxRate) * half;
  const y = (ms: number) => height - pad - (ms / maxP99) * (height - 2 * pad);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad}" y="20" font-weight="bold">p99 latency (ms) against offered deliveries/s, rooms of 20</text>`,
    `<line x1="${pad}" y1="${height - pad}" x2="${pad + half}" y2="${height - pad}" stroke="black"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="black"/>`,
    `<text x="${pad}" y="${height - pad + 16}">0</text><text x="${pad + half - 30}" y="${height - pad + 16}">${maxRate}</text>`,
    `<text x="${pad - 40}" y="${pad + 4}">${maxP99.toFixed(0)}</text>`,
  ];
  for (const [system, points] of series) {
    const medians = new Map<number, number[]>();
    for (const p of points) medians.set(p.offeredPerSecond, [...(medians.get(p.offeredPerSecond) ?? []), p.p99Ms]);
    const coords = [...medians].sort(([a], [b]) => a - b).map(([rate, values]) => `${x(rate).toFixed(1)},${y(values.sort((a, b) => a - b)[Math.floor(values.length / 2)]).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${COLORS[system]}" stroke-width="2" points="${coords.join(' ')}"/>`);
  }
  // CPU bars.
  const bx = 2 * pad + half;
  const cpu = summary.medians['server CPU ms per 1000 deliveries (rooms of 20)'] ?? {};
  const maxCpu = Math.max(0.001, ...Object.values(cpu));
  parts.push(`<text x="${bx}" y="20" font-weight="bold">server + Redis CPU ms per 1,000 deliveries (rooms of 20)</text>`);
  Object.entries(cpu).forEach(([system, value], i) => {
    const barHeight = (value / maxCpu) * (height - 2 * pad);
    const left = bx + 20 + i * 110;
    parts.push(`<rect x="${left}" y="${height - pad - barHeight}" width="70" height="${barHeight}" fill="${COLORS[system]}"/>`);
    parts.push(`<text x="${left}" y="${height - pad + 16}">${system}</text><text x="${left}" y="${height - pad - barHeight - 4}">${value}</text>`);
  });
  let legendY = pad;
  for (const system of series.keys()) {
    parts.push(`<rect x="${pad + half - 90}" y="${legendY}" width="10" height="10" fill="${COLORS[system]}"/><text x="${pad + half - 75}" y="${legendY + 10}">${system}</text>`);
    legendY += 16;
  }
  parts.push('</svg>');
  return parts.join('\n');
}
