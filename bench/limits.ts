// The benchmark's limits and sizes in one place.

import { CONFIG_LIMITS } from '../service/src/constants.js';

/** History every system keeps per room: the service's HISTORY_LIMIT default, given to each. */
export const BENCH_HISTORY_LIMIT = CONFIG_LIMITS.historyLimit.fallback;
/** Rooms one bench connection may hold (the idle-cost workload puts up to a few hundred on one). */
export const BENCH_MAX_ROOMS_PER_CONNECTION = 1000;
/** Driver processes the clients are spread over. */
export const DRIVER_PROCESSES = 4;
/** The drivers' send tick: each process sends what its share of the rate owes every tick, the processes' ticks offset. */
export const SEND_TICK_MS = 1;
/** How long in-flight messages may take to arrive after a window before they count as lost. */
export const DRAIN_MS = 3000;
/** Connections (with a file descriptor each) one server instance or driver process holds at most: the machine allows 20,000 per process. */
export const MAX_CONNECTIONS_PER_PROCESS = 15_000;
/** Peak ladder pass criterion. */
export const PEAK_P99_MS = 100;
/** Connection storm: clients connecting at once per driver process, and how long after the last join the instances' CPU is still counted (presence writes). */
export const STORM_IN_FLIGHT = 100;
export const STORM_SETTLE_MS = 1000;
