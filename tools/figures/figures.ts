// Every figure in the README and docs traces to a committed results file.
// Two ways to put one in a Markdown file, both checked by
// test/docs/figures.test.ts:
//
// - inline: <!-- fig: bench/results/latest.json#ratios.cpu_ratio digits=2 -->0.84<!-- /fig -->
//   The text between the markers must be the value at that JSON path of that
//   committed file (numbers rounded to `digits`, default 2, with thousands
//   separators; `scale=0.001` multiplies first, e.g. bytes to KB).
// - generated file: a whole file made by a function of committed results
//   (GENERATED below), e.g. docs/performance.md from bench/results/latest.json.
// - generated block: <!-- generated: NAME -->…<!-- /generated --> in a
//   document, its content made by BLOCKS[NAME] (e.g. the README's table).
// `npm run docs:figures` rewrites the generated files and blocks.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performanceDoc, readmeBenchBlock } from '../../bench/doc.js';
import { shardsSection } from '../../bench/shardsDoc.js';

const json = (root: string, path: string) => JSON.parse(readFileSync(join(root, path), 'utf8'));

/** Files whose whole content is generated from committed results: path → generator. */
export const GENERATED: Record<string, (root: string) => string> = {
  // The sharded-Redis section (bench:shards) follows the comparison.
  'docs/performance.md': (root) => `${performanceDoc(json(root, 'bench/results/latest.json'))}\n${shardsSection(json(root, 'bench/results/shards.json'))}`,
};

/** Blocks inside documents generated from committed results: name → generator. */
export const BLOCKS: Record<string, (root: string) => string> = {
  'bench-ratios': (root) => readmeBenchBlock(json(root, 'bench/results/latest.json')),
};

const BLOCK = /(<!-- generated: ([\w-]+) -->)\n([\s\S]*?)\n?(<!-- \/generated -->)/g;

/** The generated blocks of a document: name and what it holds now. */
export function blocksOf(text: string): Array<{ name: string; content: string }> {
  return [...text.matchAll(BLOCK)].map(([, , name, content]) => ({ name, content }));
}

/** The document with every generated block made anew. */
export function withBlocks(text: string, root: string, blocks = BLOCKS): string {
  return text.replace(BLOCK, (_, open: string, name: string, _content: string, close: string) => {
    const generate = blocks[name];
    if (!generate) throw new Error(`no generator for the block ${name}`);
    return `${open}\n${generate(root)}\n${close}`;
  });
}

/** The documents whose marked figures and generated blocks are checked: the README and every Markdown file under docs/. */
export function documents(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`)
    .sort();
  return ['README.md', ...docs];
}

const MARKER = /<!-- fig: ([^#\s]+)#(\S+)((?: \w+=[^\s]+)*) -->(.*?)<!-- \/fig -->/g;

export interface Figure {
  file: string;
  path: string;
  shown: string;
  expected: string;
}

/** A value as a figure: numbers rounded, thousands separated; anything else as text. */
export function formatFigure(value: unknown, options: Record<string, string> = {}): string {
  if (typeof value !== 'number') return String(value);
  const scaled = value * Number(options.scale ?? 1);
  const digits = Number(options.digits ?? 2);
  return scaled.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** The value at a dotted path (array indexes too: peaks.0.steps). */
export function at(data: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node === undefined || node === null ? undefined : (node as Record<string, unknown>)[key]), data);
}

/** Every marked figure of a Markdown text, with what its results file says it must be. */
export function figuresOf(file: string, text: string, read: (resultsPath: string) => unknown): Figure[] {
  return [...text.matchAll(MARKER)].map(([, resultsPath, jsonPath, rawOptions, shown]) => {
    const options = Object.fromEntries(rawOptions.trim().split(/\s+/).filter(Boolean).map((o) => o.split('=') as [string, string]));
    const value = at(read(resultsPath), jsonPath);
    return { file, path: `${resultsPath}#${jsonPath}`, shown, expected: value === undefined ? `(nothing at ${jsonPath})` : formatFigure(value, options) };
  });
}

/** The text with every marked figure set to what its results file says. */
export function withFigures(text: string, read: (resultsPath: string) => unknown): string {
  return text.replace(MARKER, (marker: string, resultsPath: string, jsonPath: string, rawOptions: string, shown: string) => {
    const [figure] = figuresOf('', marker, read);
    return figure.expected.startsWith('(nothing at ') ? marker : marker.replace(`-->${shown}<!--`, `-->${figure.expected}<!--`);
  });
}

/** Reads committed results files once each. */
export function resultsReader(root: string): (resultsPath: string) => unknown {
  const cache = new Map<string, unknown>();
  return (resultsPath) => {
    if (!cache.has(resultsPath)) cache.set(resultsPath, JSON.parse(readFileSync(join(root, resultsPath), 'utf8')));
    return cache.get(resultsPath);
  };
}

/** Rewrites every generated file, every generated block and every marked figure of the documents. */
export function writeFigures(root: string): void {
  for (const [file, generate] of Object.entries(GENERATED)) writeFileSync(join(root, file), generate(root));
  const read = resultsReader(root);
  for (const file of documents(root)) {
    const text = readFileSync(join(root, file), 'utf8');
    const next = withFigures(withBlocks(text, root), read);
    if (next !== text) writeFileSync(join(root, file), next);
  }
}
