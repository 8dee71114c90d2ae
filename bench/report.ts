// Bench results as a Markdown table and an SVG chart (p99 latency and server
// CPU per 1,000 deliveries, each against the offered rate), written by hand:
// no chart library.
import { median } from './measure.js';
import type { RateResult } from './workloads.js';

export interface Summary {
  machine: string;
  mode: string;
  date: string;
  command: string;
  seconds: number;
  ratios: Record<string, number>;
  /** The ratio at every fixed-rate point the headline ratios are taken from. */
  pointRatios: Record<string, Array<{ figure: string; ratio: number }>>;
  medians: Record<string, Record<string, number>>;
  rates: RateResult[];
  peaks: Array<{ system: string; peakPerSecond: number; reachedTop: boolean; steps: RateResult[] }>;
}

const TARGETS: Array<[key: string, label: string, target: string]> = [
  ['cpu_ratio', 'CPU per delivery / Socket.IO (median over the fixed-rate points)', '≤ 0.5'],
  ['p99_ratio', 'p99 at the fixed rates / Socket.IO (worst point)', '≤ 1'],
  ['peak_ratio', 'peak delivered rate / Socket.IO', '≥ 1.5'],
  ['memory_ratio', 'memory per idle connection / Socket.IO', '≤ 0.5'],
  ['ceiling_ratio', 'CPU per delivery / single-process ceiling (median over the rates)', '≤ 1.4'],
];

const windowRow = (r: RateResult) =>
  `| ${r.system} | ${r.workload}${r.via === 'haproxy' ? ' via HAProxy' : ''} | ${r.offeredPerSecond} | ${r.deliveredPerSecond} | ${r.lost} | ${r.serverCpuMsPer1000}${r.balancerCpuMsPer1000 === undefined ? '' : ` (+${r.balancerCpuMsPer1000} HAProxy)`} | ${r.p50Ms} | ${r.p99Ms} | ${(r.driverCpuShare * 100).toFixed(0)}% |`;

export function markdown(summary: Summary): string {
  const rows = Object.entries(summary.medians).map(([figure, bySystem]) => `| ${figure} | ${bySystem.service ?? ''} | ${bySystem.socketio ?? ''} | ${bySystem.ceiling ?? ''} |`);
  const points = Object.entries(summary.pointRatios).flatMap(([kind, list]) => list.map((p) => `| ${kind} | ${p.figure} | ${p.ratio} |`));
  return [
    `# Benchmark: chat service vs Socket.IO + @socket.io/redis-adapter`,
    '',
    `\`${summary.command}\`, ${summary.date}, ${summary.mode} mode, ${summary.seconds} s, ${summary.machine}. Medians over the repeats; systems alternated A B, B A.`,
    '',
    '| ratio (service / other) | value | target |',
    '|---|---:|---|',
    ...TARGETS.map(([key, label, target]) => `| ${label} | ${summary.ratios[key]} | ${target} |`),
    '',
    '| ratio at each point | figure | service / other |',
    '|---|---|---:|',
    ...points,
    '',
    '| figure (median) | service | Socket.IO | ceiling |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
    '## Peak ladders',
    '',
    'Each step offers a rate to rooms of 20 and passes with p99 ≤ 100 ms and nothing lost; the ladder stops at the first failure.',
    '',
    '| system | passed (delivered/s) | first failure |',
    '|---|---|---|',
    ...summary.peaks.map((p) => {
      const passed = p.steps.filter((s) => s.lost === 0 && s.p99Ms <= 100).map((s) => s.deliveredPerSecond);
      const failed = p.steps.find((s) => s.lost > 0 || s.p99Ms > 100);
      return `| ${p.system} | ${passed.join(', ')} | ${failed ? `${failed.offeredPerSecond}/s offered: p99 ${failed.p99Ms} ms, ${failed.lost} lost` : 'none (top of the ladder)'} |`;
    }),
    '',
    '## Every fixed-rate window',
    '',
    '| system | workload | offered/s | delivered/s | lost | server CPU ms / 1000 | p50 ms | p99 ms | driver CPU |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.rates.map(windowRow),
    '',
  ].join('\n');
}

const COLORS: Record<string, string> = { service: '#1f77b4', socketio: '#d62728', ceiling: '#2ca02c' };

/** Median of `value` per system and offered rate, for the direct rooms-of-20 windows. */
function curves(rates: RateResult[], value: (r: RateResult) => number): Map<string, Array<[number, number]>> {
  const bySystem = new Map<string, Map<number, number[]>>();
  for (const r of rates.filter((x) => x.workload === 'rooms of 20' && x.via === 'direct')) {
    const byRate = bySystem.get(r.system) ?? new Map<number, number[]>();
    byRate.set(r.offeredPerSecond, [...(byRate.get(r.offeredPerSecond) ?? []), value(r)]);
    bySystem.set(r.system, byRate);
  }
  return new Map([...bySystem].map(([system, byRate]) => [system, [...byRate].map(([rate, values]): [number, number] => [rate, median(values)]).sort((a, b) => a[0] - b[0])]));
}

function panel(left: number, title: string, lines: Map<string, Array<[number, number]>>, size: { width: number; height: number; pad: number }): string[] {
  const { width, height, pad } = size;
  const all = [...lines.values()].flat();
  const maxX = Math.max(1, ...all.map(([x]) => x));
  const maxY = Math.max(0.001, ...all.map(([, y]) => (Number.isFinite(y) ? y : 0)));
  const x = (v: number) => left + (v / maxX) * width;
  const y = (v: number) => height + pad - (v / maxY) * height;
  const parts = [
    `<text x="${left}" y="20" font-weight="bold">${title}</text>`,
    `<line x1="${left}" y1="${height + pad}" x2="${left + width}" y2="${height + pad}" stroke="black"/>`,
    `<line x1="${left}" y1="${pad}" x2="${left}" y2="${height + pad}" stroke="black"/>`,
    `<text x="${left}" y="${height + pad + 16}">0</text><text x="${left + width - 40}" y="${height + pad + 16}">${maxX}/s</text>`,
    `<text x="${left + 4}" y="${pad + 4}">${maxY.toFixed(1)}</text>`,
  ];
  for (const [system, points] of lines) {
    const coords = points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${COLORS[system]}" stroke-width="2" points="${coords.join(' ')}"/>`);
    for (const [px, py] of points) parts.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${COLORS[system]}"/>`);
  }
  return parts;
}

export function svg(summary: Summary): string {
  const size = { width: 380, height: 260, pad: 40 };
  const total = { width: 2 * size.width + 3 * size.pad + 40, height: size.height + 2 * size.pad + 30 };
  const latency = curves(summary.rates, (r) => r.p99Ms);
  latency.delete('ceiling');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${total.width}" height="${total.height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panel(size.pad, 'p99 ms against offered deliveries/s (rooms of 20)', latency, size),
    ...panel(2 * size.pad + size.width + 40, 'server + Redis CPU ms per 1,000 deliveries (rooms of 20)', curves(summary.rates, (r) => r.serverCpuMsPer1000), size),
  ];
  let legendX = size.pad;
  for (const system of Object.keys(COLORS)) {
    parts.push(`<rect x="${legendX}" y="${total.height - 18}" width="10" height="10" fill="${COLORS[system]}"/><text x="${legendX + 14}" y="${total.height - 9}">${system}</text>`);
    legendX += 90;
  }
  parts.push('</svg>');
  return parts.join('\n');
}
