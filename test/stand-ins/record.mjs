// Shared by the stand-ins: append one invocation to $STANDIN_DIR/calls.jsonl.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

export function standinDir() {
  const dir = process.env.STANDIN_DIR;
  if (!dir) {
    process.stderr.write('stand-in: STANDIN_DIR is not set\n');
    process.exit(70);
  }
  return dir;
}

export function record(tool, entry) {
  appendFileSync(join(standinDir(), 'calls.jsonl'), `${JSON.stringify({ tool, at: new Date().toISOString(), argv: process.argv.slice(2), cwd: process.cwd(), ...entry })}\n`);
}
