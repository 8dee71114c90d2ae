// Bench results as a Markdown report and SVG charts (rates; memory against
// connections; idle cost against rooms), written by hand: no chart library.
import { median } from './measure.js';
import { PEER_NAMES, TARGETS, met, stormLabel, targetText, type Summary } from './summary.js';
import type { RateResult } from './workloads.js';

export type { Summary } from './summary.js';

const SYSTEMS = ['service', 'socketio', 'centrifuge', 'ceiling'];
const cell = (value: number | undefined) => (value === undefined ? '' : String(value));

const windowRow = (r: RateResult) =>
  `| ${r.system} | ${r.workload}${r.via === 'haproxy' ? ' via HAProxy' : ''}${r.placement === 'room' ? ' with room affinity' : ''} | ${r.offeredPerSecond} | ${r.deliveredPerSecond} | ${r.lost} | ${r.serverCpuMsPer1000}${r.redisCpuMsPer1000 ? ` (Redis ${r.redisCpuMsPer1000})` : ''}${r.balancerCpuMsPer1000 === undefined ? '' : ` (+${r.balancerCpuMsPer1000} HAProxy)`} | ${r.instanceWritesPer1000 ?? ''} | ${r.instanceWakeupsPer1000 ?? ''} | ${r.p50Ms} | ${r.p99Ms} | ${r.driverCpuMsPer1000 ?? ''} | ${(r.driverCpuShare * 100).toFixed(0)}% |`;

export function markdown(summary: Summary): string {
  const present = SYSTEMS.filter((s) => Object.values(summary.medians).some((bySystem) => bySystem[s] !== undefined));
  const rows = Object.entries(summary.medians).map(([figure, bySystem]) => `| ${figure} | ${present.map((s) => cell(bySystem[s])).join(' | ')} |`);
  const points = Object.entries(summary.pointRatios).flatMap(([kind, list]) => list.map((p) => `| ${kind} | ${p.figure} | ${p.ratio} | ${p.met ? 'yes' : 'no'} |`));
  return [
    `# Benchmark: chat service vs Socket.IO + @socket.io/redis-adapter vs the Centrifuge engine`,
    '',
    `\`${summary.command}\`, ${summary.date}, ${summary.mode} mode, ${summary.seconds} s, ${summary.machine}. ${summary.layout}. Medians over the repeats; systems alternated.`,
    '',
    '| ratio (service / other) | key | value | target | met |',
    '|---|---|---:|---|---|',
    ...TARGETS.map((t) => `| ${t.label} | ${t.key} | ${summary.ratios[t.key]} | ${targetText(t)} | ${met(summary.ratios[t.key], t) ? 'yes' : 'no'} |`),
    '',
    '| ratio at each point | figure | service / other | met |',
    '|---|---|---:|---|',
    ...points,
    '',
    `| figure (median) | ${present.map((s) => PEER_NAMES[s]).join(' | ')} |`,
    `|---|${present.map(() => '---:').join('|')}|`,
    ...rows,
    '',
    '## Memory per idle joined connection',
    '',
    'Each count on fresh processes; every instance collects garbage (inspector or runtime.GC) before each reading.',
    '',
    '| system | connections | instances | open ms | RSS bytes / connection | heap bytes / connection |',
    '|---|---:|---:|---:|---:|---:|',
    ...summary.memory.points.map((p) =>
      p.error ? `| ${p.system} | ${p.connections} | ${p.instances} | failed: ${p.error} | | |` : `| ${p.system} | ${p.connections} | ${p.instances} | ${p.openMs} | ${p.rssBytesPerConnection} | ${p.heapBytesPerConnection} |`,
    ),
    '',
    '## Idle cost against rooms (rooms of 1–2 members)',
    '',
    '| system | rooms | connections | join ms | CPU per instance | Redis CPU | Redis commands/s | server CPU ms / 1000 at the work rate | p99 ms there |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.idle.map((p) => {
      const work = summary.work.find((w) => w.system === p.system && w.rooms === p.rooms);
      if (p.error) return `| ${p.system} | ${p.rooms} | failed: ${p.error} | | | | | | |`;
      return `| ${p.system} | ${p.rooms} | ${p.connections} | ${p.joinMs} | ${p.instanceCpuPercent} % | ${p.redisCpuPercent} % | ${p.redisCommandsPerSecond} | ${cell(work?.serverCpuMsPer1000)} | ${cell(work?.p99Ms)} |`;
    }),
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
    ...(summary.affinity
      ? [
          '## Room affinity (rooms of 20, every room\'s members on one instance)',
          '',
          '| offered/s | service | service, members alternating | Socket.IO | Centrifuge | ceiling |',
          '|---:|---:|---:|---:|---:|---:|',
          ...summary.affinity.points.map((p) => `| ${p.rate} | ${cell(p.service)} | ${cell(p.alternating)} | ${cell(p.socketio)} | ${cell(p.centrifuge)} | ${cell(p.ceiling)} |`),
          '',
          `Server CPU ms per 1000 deliveries (medians). Service with room affinity / other, median of the rates: ${Object.entries(summary.affinity.ratios).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
          '',
        ]
      : []),
    ...(summary.storm
      ? [
          '## Connection storms',
          '',
          '| system | tokens | connections | ms | connections/s | server CPU µs / connection | of which instances | driver CPU µs / connection |',
          '|---|---|---:|---:|---:|---:|---:|---:|',
          ...summary.storm.points.map((p) =>
            p.error
              ? `| ${stormLabel(p)} | ${p.auth} | ${p.connections} | failed: ${p.error} | | | | |`
              : `| ${stormLabel(p)} | ${p.auth} | ${p.connections} | ${p.ms} | ${p.connectionsPerSecond} | ${p.serverCpuUsPerConnection} | ${p.instanceCpuUsPerConnection} | ${p.driverCpuUsPerConnection} |`,
          ),
          '',
          `Verifying a token (medians): +${summary.storm.verification.extraCpuUsPerConnection} µs of server CPU per connection, ${summary.storm.verification.cpuRatio}× the CPU and ${summary.storm.verification.rateRatio}× the connection rate of the same storm without tokens.`,
          '',
        ]
      : []),
    '## Every fixed-rate window',
    '',
    '| system | workload | offered/s | delivered/s | lost | server CPU ms / 1000 | instance writes / 1000 | instance wake-ups / 1000 | p50 ms | p99 ms | driver CPU ms / 1000 | driver CPU |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.rates.map(windowRow),
    '',
  ].join('\n');
}

const COLORS: Record<string, string> = { service: '#1f77b4', socketio: '#d62728', centrifuge: '#9467bd', ceiling: '#2ca02c' };
type Lines = Map<string, Array<[number, number]>>;

/** Median of `value` per system and offered rate, for the direct rooms-of-20 windows. */
function curves(rates: RateResult[], value: (r: RateResult) => number): Lines {
  const bySystem = new Map<string, Map<number, number[]>>();
  for (const r of rates.filter((x) => x.workload === 'rooms of 20' && x.via === 'direct' && x.placement === undefined)) {
    const byRate = bySystem.get(r.system) ?? new Map<number, number[]>();
    byRate.set(r.offeredPerSecond, [...(byRate.get(r.offeredPerSecond) ?? []), value(r)]);
    bySystem.set(r.system, byRate);
  }
  return new Map([...bySystem].map(([system, byRate]) => [system, [...byRate].map(([rate, values]): [number, number] => [rate, median(values)]).sort((a, b) => a[0] - b[0])]));
}

const SIZE = { width: 380, height: 260, pad: 40 };

/** One chart: axes, a line per system. `log` puts x on a log10 scale (room counts that span decades). */
function panel(left: number, title: string, lines: Lines, xUnit: string, log = false): string[] {
  const { width, height, pad } = SIZE;
  const all = [...lines.values()].flat();
  const fx = (v: number) => (log ? Math.log10(Math.max(1, v)) : v);
  const xs = all.map(([x]) => fx(x));
  const minX = log ? Math.min(...xs) : 0;
  const maxX = Math.max(minX + 1, ...xs);
  const maxY = Math.max(0.001, ...all.map(([, y]) => (Number.isFinite(y) ? y : 0)));
  const x = (v: number) => left + ((fx(v) - minX) / (maxX - minX)) * width;
  const y = (v: number) => height + pad - (v / maxY) * height;
  const lastX = Math.max(...all.map(([v]) => v));
  const parts = [
    `<text x="${left}" y="20" font-weight="bold">${title}</text>`,
    `<line x1="${left}" y1="${height + pad}" x2="${left + width}" y2="${height + pad}" stroke="black"/>`,
    `<line x1="${left}" y1="${pad}" x2="${left}" y2="${height + pad}" stroke="black"/>`,
    `<text x="${left}" y="${height + pad + 16}">${log ? Math.min(...all.map(([v]) => v)) : 0}</text><text x="${left + width - 60}" y="${height + pad + 16}">${lastX}${xUnit}</text>`,
    `<text x="${left + 4}" y="${pad + 4}">${maxY.toFixed(1)}</text>`,
  ];
  for (const [system, points] of lines) {
    const coords = points.filter(([, py]) => Number.isFinite(py)).map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${COLORS[system]}" stroke-width="2" points="${coords.join(' ')}"/>`);
    for (const [px, py] of points) if (Number.isFinite(py)) parts.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${COLORS[system]}"/>`);
  }
  return parts;
}

function chart(left: { title: string; lines: Lines }, right: { title: string; lines: Lines }, xUnit: string, log = false): string {
  const { width, height, pad } = SIZE;
  const total = { width: 2 * width + 3 * pad + 40, height: height + 2 * pad + 30 };
  const systems = SYSTEMS.filter((s) => left.lines.has(s) || right.lines.has(s));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${total.width}" height="${total.height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panel(pad, left.title, left.lines, xUnit, log),
    ...panel(2 * pad + width + 40, right.title, right.lines, xUnit, log),
  ];
  systems.forEach((system, i) => {
    const lx = pad + i * 110;
    parts.push(`<rect x="${lx}" y="${total.height - 18}" width="10" height="10" fill="${COLORS[system]}"/><text x="${lx + 14}" y="${total.height - 9}">${PEER_NAMES[system]}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export function svg(summary: Summary): string {
  const latency = curves(summary.rates, (r) => r.p99Ms);
  latency.delete('ceiling');
  return chart(
    { title: 'p99 ms against offered deliveries/s (rooms of 20)', lines: latency },
    { title: 'server + Redis CPU ms per 1,000 deliveries (rooms of 20)', lines: curves(summary.rates, (r) => r.serverCpuMsPer1000) },
    '/s',
  );
}

function bySystem<T extends { system: string }>(items: T[], x: (item: T) => number, y: (item: T) => number): Lines {
  const lines: Lines = new Map();
  for (const item of items) lines.set(item.system, [...(lines.get(item.system) ?? []), [x(item), y(item)]]);
  for (const points of lines.values()) points.sort((a, b) => a[0] - b[0]);
  return lines;
}

/** Growth of the instances' RSS and live heap (MB) against idle joined connections. */
export function memorySvg(summary: Summary): string {
  const mb = (bytes: number) => bytes / (1024 * 1024);
  return chart(
    { title: 'RSS growth, MB, against idle joined connections', lines: bySystem(summary.memory.points, (p) => p.connections, (p) => mb(p.rssDeltaBytes)) },
    { title: 'heap growth after forced GC, MB', lines: bySystem(summary.memory.points, (p) => p.connections, (p) => mb(p.heapDeltaBytes)) },
    ' conn.',
  );
}

/** Idle CPU per instance (%) and Redis commands/s against the number of rooms (log scale). */
export function idleSvg(summary: Summary): string {
  return chart(
    { title: 'idle CPU per instance, % of a core, against rooms', lines: bySystem(summary.idle, (p) => p.rooms, (p) => p.instanceCpuPercent) },
    { title: 'idle Redis commands/s against rooms', lines: bySystem(summary.idle, (p) => p.rooms, (p) => p.redisCommandsPerSecond) },
    ' rooms',
    true,
  );
}
