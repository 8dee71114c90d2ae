// `npm run docs:figures`: rewrites every generated document, block and marked figure from
// the committed results files (after a bench run, or a results file changed).
import { fileURLToPath } from 'node:url';
import { writeFigures } from './figures.js';

writeFigures(fileURLToPath(new URL('../..', import.meta.url)));
