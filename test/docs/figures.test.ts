// Every figure in the README and the docs is generated from a committed
// results file: marked inline figures must equal their JSON value, and
// generated documents must equal what their generator makes of the results.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { BLOCKS, GENERATED, documents, blocksOf, figuresOf, formatFigure, resultsReader, withBlocks, withFigures } from '../../tools/figures/figures.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tracked = new Set(execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n'));

it('finds a marked figure that disagrees with its results file, and one that agrees', () => {
  const results = { ratios: { cpu_ratio: 0.8351 }, peak: 372530 };
  const text = [
    'CPU <!-- fig: r.json#ratios.cpu_ratio -->0.84<!-- /fig --> of the peer,',
    'peak <!-- fig: r.json#peak digits=0 -->372,531<!-- /fig -->/s,',
    'memory <!-- fig: r.json#ratios.memory_ratio -->0.07<!-- /fig -->.',
  ].join('\n');
  const figures = figuresOf('doc.md', text, () => results);
  assert.deepEqual(
    figures.map((f) => [f.shown, f.expected]),
    [
      ['0.84', '0.84'],
      ['372,531', '372,530'],
      ['0.07', '(nothing at ratios.memory_ratio)'],
    ],
  );
  assert.equal(formatFigure(29_184, { scale: '0.0009765625', digits: '1' }), '28.5');
});

it('checks the README and every Markdown file under docs/', () => {
  const checked = documents(root);
  assert.ok(checked.includes('README.md') && checked.includes('docs/protocol.md') && checked.includes('docs/performance.md'), checked.join(', '));
  assert.deepEqual(checked.filter((f) => f.startsWith('docs/')), [...tracked].filter((f) => f.startsWith('docs/') && f.endsWith('.md')).sort());
});

it('every marked figure in the README and docs equals its committed results file', () => {
  const read = resultsReader(root);
  for (const file of documents(root)) {
    for (const figure of figuresOf(file, readFileSync(join(root, file), 'utf8'), (path) => {
      assert.ok(tracked.has(path), `${file} quotes ${path}, which is not a committed file`);
      return read(path);
    })) {
      assert.equal(figure.shown, figure.expected, `${figure.file}: ${figure.path} is ${figure.expected}, the doc says ${figure.shown}`);
    }
  }
});

for (const [file, generate] of Object.entries(GENERATED)) {
  it(`${file} is what its generator makes of the committed results`, () => {
    assert.equal(readFileSync(join(root, file), 'utf8'), generate(root), `${file} is stale: regenerate it (npm run docs:figures)`);
  });
}

it('every generated block in the README and docs is what its generator makes of the committed results', () => {
  let count = 0;
  for (const file of documents(root)) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const block of blocksOf(text)) {
      count++;
      assert.ok(BLOCKS[block.name], `${file}: no generator for the block ${block.name}`);
      assert.equal(block.content, BLOCKS[block.name](root), `${file}: the block ${block.name} is stale: regenerate it (npm run docs:figures)`);
    }
  }
  assert.ok(count > 0, 'the README carries the benchmark table as a generated block');
});

it('rewrites a stale or empty generated block and leaves the text around it alone', () => {
  const blocks = { table: () => '| new | 2 |\n| more | 3 |' };
  const stale = 'before\n<!-- generated: table -->\n| old | 1 |\n<!-- /generated -->\nafter\n';
  const fresh = 'before\n<!-- generated: table -->\n| new | 2 |\n| more | 3 |\n<!-- /generated -->\nafter\n';
  assert.equal(withBlocks(stale, root, blocks), fresh);
  assert.deepEqual(blocksOf(fresh), [{ name: 'table', content: '| new | 2 |\n| more | 3 |' }]);
  // A block that has never been generated is empty, and is filled the same way.
  assert.equal(withBlocks('before\n<!-- generated: table -->\n<!-- /generated -->\nafter\n', root, blocks), fresh);
  assert.equal(withBlocks(fresh, root, blocks), fresh, 'regenerating changes nothing');
  assert.throws(() => withBlocks('<!-- generated: nope -->\n<!-- /generated -->', root, blocks), /no generator for the block nope/);
});

it('rewrites a stale marked figure from its results file and leaves the text around it alone', () => {
  const read = () => ({ run: { p95: 108.64, ok: true } });
  const stale = 'p95 <!-- fig: r.json#run.p95 digits=1 -->641<!-- /fig --> ms, ok: <!-- fig: r.json#run.ok -->false<!-- /fig -->.';
  const fresh = 'p95 <!-- fig: r.json#run.p95 digits=1 -->108.6<!-- /fig --> ms, ok: <!-- fig: r.json#run.ok -->true<!-- /fig -->.';
  assert.equal(withFigures(stale, read), fresh);
  assert.equal(withFigures(fresh, read), fresh, 'rewriting changes nothing');
  assert.deepEqual(figuresOf('x.md', fresh, read).map((f) => f.shown === f.expected), [true, true]);
});
