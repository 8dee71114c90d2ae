// The scenarios, by name. Every VU is one chat member holding one connection
// for its whole life (one iteration), so connections ramp by adding VUs in
// steps rather than by looping iterations.

function members(vus, startTime, maxDuration) {
  return { executor: 'per-vu-iterations', vus, iterations: 1, startTime, maxDuration, gracefulStop: '30s' };
}

/**
 * Per scenario: the executors, the room/message shape unless the environment
 * overrides it, and the web dashboard's sampling period for the HTML report
 * (a short run needs short periods, or k6 skips the report for lack of data).
 */
export const SCENARIOS = {
  // Seconds, for CI: 12 members in rooms of 4, 10 messages each at 5/s.
  smoke: {
    shape: { roomSize: 4, messages: 10, rate: 5, fillTimeoutMs: 10_000, settleMs: 3_000 },
    scenarios: { smoke: members(12, '0s', '60s') },
    reportPeriod: '1s',
  },
  // Ramping to 2,000 connections in five steps, rooms of 10, a message every 4 s each
  // (500 messages and 5,000 deliveries a second once all are in).
  load: {
    shape: { roomSize: 10, messages: 30, rate: 0.25, fillTimeoutMs: 60_000, settleMs: 10_000 },
    scenarios: Object.fromEntries(
      [0, 1, 2, 3, 4].map((step) => [`load_step_${step + 1}`, members(400, `${step * 15}s`, '5m')]),
    ),
    reportPeriod: '5s',
  },
  // Long and steady: 500 connections, a message every 5 s each, for 30 minutes.
  soak: {
    shape: { roomSize: 10, messages: 360, rate: 0.2, fillTimeoutMs: 60_000, settleMs: 15_000 },
    scenarios: { soak: members(500, '0s', '40m') },
    reportPeriod: '10s',
  },
  // A connection storm: 1,500 members connecting at once.
  spike: {
    shape: { roomSize: 10, messages: 5, rate: 1, fillTimeoutMs: 60_000, settleMs: 10_000 },
    scenarios: { spike: members(1500, '0s', '3m') },
    reportPeriod: '2s',
  },
};

/** The VUs of a scenario (one connection each): the sum over its executors. */
export function scenarioVus(name) {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario ${name}; one of ${Object.keys(SCENARIOS).join(', ')}`);
  return Object.values(scenario.scenarios).reduce((sum, executor) => sum + executor.vus, 0);
}
