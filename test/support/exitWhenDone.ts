// Loaded into every test file's process (scripts/test.sh: --import). Once all
// the file's tests are done, the file's own after hooks and whatever it left
// running (a client that reconnects, a timer) get TEST_EXIT_GRACE_MS (60 s)
// to end, then the process exits, so a leak cannot hold the suite. Node's own --test-force-exit is not used: it
// ended files between their suites, before all their tests had run.
import { after } from 'node:test';

const GRACE_MS = Number(process.env.TEST_EXIT_GRACE_MS ?? 60_000);

// Only in a test file's own process, not in the runner that starts them.
if (process.env.NODE_TEST_CONTEXT !== undefined) {
  after(() => {
    setTimeout(() => {
      process.stderr.write(`${process.argv.at(-1)}: still running ${GRACE_MS} ms after its tests ended; exiting\n`);
      process.exit();
    }, GRACE_MS).unref();
  });
}
