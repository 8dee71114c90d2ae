// Every package in package.json is used by something in the repository: a
// module imports it, or a script, workflow or package.json script runs one of
// its binaries. A dependency nothing uses (cdktf-cli once deploy.sh drove
// Terraform directly) only costs install time and audit surface.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const withoutComments = (text: string) => text.split('\n').filter((line) => !/^\s*(#|\/\/)/.test(line)).join('\n');

const modules = tracked.filter((file) => /\.(ts|mts|mjs|js)$/.test(file) && !file.includes('__snapshots__')).map(read).join('\n');
// Where binaries run: package.json scripts, shell scripts, workflows, the CI entry point.
const shell = [
  ...Object.values(manifest.scripts),
  ...tracked.filter((file) => /\.sh$|^\.github\/workflows\/.*\.ya?ml$|^\.ci\//.test(file)).map((file) => withoutComments(read(file))),
].join('\n');

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
function binariesOf(name: string): string[] {
  let bin: string | Record<string, string> | undefined;
  try {
    bin = (JSON.parse(read(join('node_modules', name, 'package.json'))) as { bin?: string | Record<string, string> }).bin;
  } catch {
    return []; // not installed: no binary to run
  }
  if (!bin) return [];
  return typeof bin === 'string' ? [name.split('/').at(-1)!] : Object.keys(bin);
}

function usedBy(name: string): string | undefined {
  if (new RegExp(`(from\\s+|import\\(\\s*|require\\(\\s*)['"]${escape(name)}(/[^'"]*)?['"]`).test(modules)) return 'an import';
  for (const bin of binariesOf(name)) {
    if (new RegExp(`(^|[\\s;&|(/])${escape(bin)}(\\s|$)`, 'm').test(shell)) return `its ${bin} in a script`;
    if (modules.includes(`node_modules/.bin/${bin}`) || modules.includes(`.bin', '${bin}'`)) return `its ${bin} from a module`;
  }
  // Types packages serve the compiler for the package (or Node) they describe.
  const typed = /^@types\/(.+)$/.exec(name)?.[1];
  if (typed && (typed === 'node' || usedBy(typed))) return 'the compiler';
  return undefined;
}

test('every dependency and devDependency is used by the repository', () => {
  const unused = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((name) => !usedBy(name));
  assert.deepEqual(unused, []);
});

test('the check sees a package that nothing uses', () => {
  assert.equal(usedBy('left-pad-never-installed-here'), undefined);
});
