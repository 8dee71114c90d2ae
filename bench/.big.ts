import { withSetup } from '/work/wt/bench/bench/setup.js';
import { idleConnections, idleRooms, fixedRates, ROOMS_OF_20 } from '/work/wt/bench/bench/workloads.js';
const name = (process.argv[2] ?? 'service') as 'service';
const what = process.argv[3] ?? 'memory';
const t = Date.now();
if (what === 'memory') {
  const p = await withSetup(name, { inspect: true, instances: 4, drivers: 4 }, (s) => idleConnections(s, 50000));
  console.log(JSON.stringify(p));
} else {
  await withSetup(name, {}, async (s) => {
    console.log(JSON.stringify(await idleRooms(s, 100000, 1000, 10)));
    console.log(JSON.stringify((await fixedRates(s, ROOMS_OF_20, [20000], 3))[0]));
  });
}
console.log('seconds', (Date.now() - t) / 1000);
process.exit(0);
