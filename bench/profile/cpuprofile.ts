// Reading V8 `.cpuprofile` files (what `node --cpu-prof` writes): self time
// per function, and a flame graph as SVG, so a profile can be read in a
// Markdown file or a browser without DevTools.
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time in microseconds per node id. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0)));
  return self;
}

const label = (frame: CpuProfile['nodes'][number]['callFrame']) => {
  const file = frame.url.split('/').slice(-2).join('/');
  return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
};

/** Nodes V8 reports when no JavaScript or native code of the process runs. */
const IDLE = new Set(['(idle)']);

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the non-idle time. */
  share: number;
}

/** Functions by self time, merged across profiles (one per process). */
export function topSelfTime(profiles: CpuProfile[], limit = 15): { busyMs: number; idleMs: number; top: SelfTime[] } {
  const byName = new Map<string, number>();
  let idle = 0;
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    for (const [id, us] of selfTimes(profile)) {
      const node = nodes.get(id);
      if (!node) continue;
      if (IDLE.has(node.callFrame.functionName)) idle += us;
      else byName.set(label(node.callFrame), (byName.get(label(node.callFrame)) ?? 0) + us);
    }
  }
  const busy = [...byName.values()].reduce((a, b) => a + b, 0);
  const top = [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({ name, ms: Number((us / 1000).toFixed(1)), share: Number((us / Math.max(1, busy)).toFixed(3)) }));
  return { busyMs: Number((busy / 1000).toFixed(1)), idleMs: Number((idle / 1000).toFixed(1)), top };
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A flame graph (root at the bottom) of the non-idle time; frames under 0.3 % are left out. */
export function flameGraph(profile: CpuProfile, title: string): string {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = selfTimes(profile);
  const total = new Map<number, number>();
  const totalOf = (id: number): number => {
    const node = nodes.get(id)!;
    if (IDLE.has(node.callFrame.functionName)) return 0;
    const sum = (self.get(id) ?? 0) + (node.children ?? []).reduce((acc, child) => acc + totalOf(child), 0);
    total.set(id, sum);
    return sum;
  };
  const root = profile.nodes[0];
  const all = totalOf(root.id);
  const width = 1200;
  const row = 16;
  const rects: string[] = [];
  let depthMax = 0;
  const place = (id: number, x: number, depth: number) => {
    const w = ((total.get(id) ?? 0) / Math.max(1, all)) * width;
    if (w < width * 0.003) return;
    depthMax = Math.max(depthMax, depth);
    const name = label(nodes.get(id)!.callFrame);
    const hue = 20 + ((name.length * 37) % 40);
    rects.push(
      `<g><title>${escape(name)} (${(((total.get(id) ?? 0) / Math.max(1, all)) * 100).toFixed(1)} %)</title>` +
        `<rect x="${x.toFixed(1)}" y="{y${depth}}" width="${w.toFixed(1)}" height="${row - 1}" fill="hsl(${hue},80%,60%)"/>` +
        (w > 40 ? `<text x="${(x + 3).toFixed(1)}" y="{t${depth}}" font-size="11">${escape(name.slice(0, Math.floor(w / 6.5)))}</text>` : '') +
        '</g>',
    );
    let childX = x;
    for (const child of nodes.get(id)!.children ?? []) {
      place(child, childX, depth + 1);
      childX += ((total.get(child) ?? 0) / Math.max(1, all)) * width;
    }
  };
  place(root.id, 0, 0);
  const height = (depthMax + 1) * row + 30;
  const body = rects.join('\n').replace(/\{([yt])(\d+)\}/g, (_, kind: string, depth: string) => {
    const y = height - (Number(depth) + 1) * row;
    return String(kind === 'y' ? y : y + 12);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="4" y="16" font-family="sans-serif" font-size="13" font-weight="bold">${escape(title)}</text>`,
    body,
    '</svg>',
  ].join('\n');
}
