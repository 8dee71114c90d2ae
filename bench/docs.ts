// `npm run bench:docs`: docs/performance.md from the committed results of the last full run.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performanceDoc } from './doc.js';

const root = new URL('..', import.meta.url);
const summary = JSON.parse(readFileSync(new URL('bench/results/latest.json', root), 'utf8'));
writeFileSync(fileURLToPath(new URL('docs/performance.md', root)), performanceDoc(summary));
