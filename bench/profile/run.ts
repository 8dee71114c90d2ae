// `npm run bench:profile [-- --rate 40000 --seconds 5]`: each Node system
// under `node --cpu-prof`, the Centrifuge peer under Go's pprof, at one fixed
// rate (rooms of 20), then where its instances spent their time: bench/results/profile.md (self time by function) and
// profile-<system>.svg (a flame graph of one instance). The raw .cpuprofile
// files stay in the printed directory for Chrome DevTools or speedscope.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SystemName } from '../systems.js';
import { withSetup } from '../setup.js';
import { CENTRIFUGE_BINARY } from '../systems.js';
import { ROOMS_OF_20, fixedRates } from '../workloads.js';
import { flameGraph, topSelfTime, type CpuProfile } from './cpuprofile.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '40000' }, seconds: { type: 'string', default: '5' }, out: { type: 'string' } } });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
if (!Number.isFinite(rate) || rate <= 0) throw new Error(`--rate must be a positive number of deliveries a second, not ${values.rate}`);
if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--seconds must be positive, not ${values.seconds}`);
const out = values.out ?? fileURLToPath(new URL('../results', import.meta.url));
mkdirSync(out, { recursive: true });

const sections: string[] = [
  '# Where the time goes',
  '',
  `\`npm run bench:profile -- --rate ${rate} --seconds ${seconds}\`, ${new Date().toISOString()}: rooms of 20 (${ROOMS_OF_20.rooms} rooms, ${ROOMS_OF_20.sendersPerRoom} senders each) at ${rate} deliveries/s for ${seconds} s, every Node instance under \`node --cpu-prof\`, the Centrifuge peer's under Go's profiler. Self time by function, summed over the system's instances; shares are of the non-idle time. Flame graphs: \`profile-<system>.svg\` (one instance).`,
  '',
];
for (const name of ['service', 'socketio', 'centrifuge', 'ceiling'] as SystemName[]) {
  if (name === 'centrifuge') {
    sections.push(...(await goProfile(rate, seconds)));
    continue;
  }
  const dir = mkdtempSync(join(tmpdir(), `bench-profile-${name}-`));
  const [result] = await withSetup(name, { profileDir: dir }, (setup) => fixedRates(setup, ROOMS_OF_20, [rate], seconds));
  const deliveries = result.deliveries;
  // The raw profiles stay on this machine; their folder is said here, not written into the committed report.
  process.stderr.write(`profile: ${name}: raw profiles in ${dir}\n`);
  process.stderr.write(`profile: ${name}: ${result.deliveredPerSecond}/s delivered, ${result.serverCpuMsPer1000} ms CPU per 1000, p99 ${result.p99Ms} ms\n`);
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`${name}: no .cpuprofile written in ${dir}`);
  const profiles = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
  const { busyMs, idleMs, top } = topSelfTime(profiles);
  writeFileSync(join(out, `profile-${name}.svg`), flameGraph(profiles[0], `${name}: one instance, rooms of 20 at ${rate} deliveries/s`));
  sections.push(
    `## ${name}`,
    '',
    `${files.length} process${files.length > 1 ? 'es' : ''}; ${busyMs} ms busy, ${idleMs} ms idle (${deliveries} deliveries in the window and its warm-up).`,
    '',
    '| self time | share | function |',
    '|---:|---:|---|',
    ...top.map((t) => `| ${t.ms} ms | ${(t.share * 100).toFixed(1)} % | \`${t.name}\` |`),
    '',
  );
}
writeFileSync(join(out, 'profile.md'), sections.join('\n'));

/** The Centrifuge peer's instances profiled by Go's own profiler over the same workload, read with `go tool pprof -top`. */
async function goProfile(rate: number, seconds: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-profile-centrifuge-'));
  const files: string[] = [];
  const result = await withSetup('centrifuge', {}, async (setup) => {
    // Started before the clients connect, long enough to cover the warm-up and the window.
    const profiles = setup.system.urls.map(async (url, i) => {
      const response = await fetch(`${url}/debug/pprof/profile?seconds=${seconds + 4}`);
      const file = join(dir, `instance-${i}.pprof`);
      writeFileSync(file, Buffer.from(await response.arrayBuffer()));
      files.push(file);
    });
    const [window] = await fixedRates(setup, ROOMS_OF_20, [rate], seconds);
    await Promise.all(profiles);
    return window;
  });
  process.stderr.write(`profile: centrifuge: raw profiles in ${dir}\n`);
  const top = execFileSync('go', ['tool', 'pprof', '-top', '-nodecount=15', CENTRIFUGE_BINARY, ...files], { encoding: 'utf8' });
  const rows = top
    .split('\n')
    .map((line) => /^\s*([\d.]+m?s)\s+([\d.]+%)\s+[\d.]+%\s+[\d.]+m?s\s+[\d.]+%\s+(.+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, flat, share, fn]) => `| ${flat} | ${share} | \`${fn.trim()}\` |`);
  const total = /Total samples = ([\d.]+m?s)/.exec(top)?.[1] ?? '?';
  return [
    '## centrifuge',
    '',
    `${files.length} processes under Go's CPU profiler; ${total} of samples (${result.deliveries} deliveries in the window; the profile also covers the connects and the warm-up). Flat time by function, share of the samples.`,
    '',
    '| flat | share | function |',
    '|---:|---:|---|',
    ...rows,
    '',
  ];
}
process.stdout.write(`${sections.join('\n')}\n`);
process.exit(0);
