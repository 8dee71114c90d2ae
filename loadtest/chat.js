// Cross-instance delivery under load. Members join rooms of ROOM_SIZE, wait
// until presence shows the whole room, send MESSAGES each at RATE a second,
// and verify that each receives every message of its room exactly once and in
// order, including those that entered through other instances.
//
//   npm run loadtest -- --target wss://chat.example.com/ws --scenario load
import exec from 'k6/execution';
import { config, memberUrl } from './lib/config.js';
import { SCENARIOS } from './lib/scenarios.js';
import { runMember } from './lib/member.js';
import { summarize } from './lib/summary.js';

const chosen = SCENARIOS[config.scenario];
if (!chosen) throw new Error(`unknown scenario ${config.scenario}; one of ${Object.keys(SCENARIOS).join(', ')}`);
const shape = {
  ...chosen.shape,
  ...(config.roomSize > 0 ? { roomSize: config.roomSize } : {}),
  ...(config.messages > 0 ? { messages: config.messages } : {}),
  ...(config.rate > 0 ? { rate: config.rate } : {}),
};

export const options = {
  scenarios: chosen.scenarios,
  insecureSkipTLSVerify: config.insecure,
  thresholds: {
    messages_missing: ['count==0'],
    messages_duplicated: ['count==0'],
    messages_out_of_order: ['count==0'],
    server_errors: ['count==0'],
    delivery_latency: [`p(95)<${config.p95Ms}`],
    checks: ['rate==1'],
    ...(config.expectCrossInstance ? { cross_instance_deliveries: ['count>0'] } : {}),
    ...(config.expectEveryRoomCrosses ? { cross_instance_members: ['rate==1'] } : {}),
    // Each VU its own user: once its room is full, presence must show as many users as members.
    ...(config.expectDistinctUsers ? { presence_distinct_users: ['rate==1'] } : {}),
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export default function () {
  // Rooms are consecutive runs of ROOM_SIZE members of one scenario.
  const slot = exec.scenario.iterationInTest;
  const room = `lt-${config.runId}-${exec.scenario.name}-${Math.floor(slot / shape.roomSize)}`;
  runMember({
    target: memberUrl(exec.vu.idInTest),
    params: {},
    room,
    name: `m${exec.vu.idInTest}`,
    shape,
    expectDistinctUsers: config.expectDistinctUsers,
  });
}

export function handleSummary(data) {
  return summarize(data, { scenario: config.scenario, target: config.target, shape });
}
