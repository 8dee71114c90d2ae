// Settings of a run, from the environment (the wrapper sets them from its flags).
import { SharedArray } from 'k6/data';

function number(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number (got ${raw})`);
  return value;
}

export const config = {
  /** wss://host/ws or ws://host:port/ws */
  target: __ENV.TARGET || 'wss://127.0.0.1:8443/ws',
  scenario: __ENV.SCENARIO || 'smoke',
  /** Accept a self-signed certificate (the local cluster's). */
  insecure: __ENV.INSECURE === '1' || __ENV.INSECURE === 'true',
  /** Members per room. */
  roomSize: number('ROOM_SIZE', 0),
  /** Messages each member sends. */
  messages: number('MESSAGES', 0),
  /** Messages per second each member sends. */
  rate: number('RATE', 0),
  /** p95 of delivery latency above this fails the run. */
  p95Ms: number('P95_MS', 250),
  /** Cross-instance deliveries are required when the target has two or more instances. */
  expectCrossInstance: __ENV.EXPECT_CROSS_INSTANCE !== '0',
  /** --expect-instances: every member must also receive from another instance (each room crossed). */
  expectEveryRoomCrosses: __ENV.EXPECT_EVERY_ROOM_CROSSES === '1',
  /** Distinguishes this run's rooms from earlier runs' (their history would be replayed). */
  runId: __ENV.RUN_ID || String(Date.now()),
  /** AUTH_MODE=jwt targets: the connection token (the wrapper's --token). */
  token: __ENV.TOKEN || '',
  /** Per-VU tokens (the wrapper's --tokens, or the local development endpoint's): one a line. */
  tokensFile: __ENV.TOKENS_FILE || '',
  /** Every VU has its own user: presence must count as many users as members. */
  expectDistinctUsers: __ENV.EXPECT_DISTINCT_USERS === '1',
};

// Read once in the init context and shared by every VU (k6 copies a SharedArray's data once, not per VU).
const tokens = config.tokensFile === ''
  ? []
  : new SharedArray('tokens', () => open(config.tokensFile).split('\n').map((line) => line.trim()).filter((line) => line !== ''));
if (config.tokensFile !== '' && tokens.length === 0) throw new Error(`TOKENS_FILE ${config.tokensFile} holds no token`);

/** The token of VU `vu` (1-based): token (vu-1) mod count of the tokens file, else the one token, else none. */
export function vuToken(vu) {
  if (tokens.length > 0) return tokens[(vu - 1) % tokens.length];
  return config.token;
}

/** Where VU `vu` connects: the target, with its token when there is one. */
export function memberUrl(vu) {
  const token = vuToken(vu);
  return token === '' ? config.target : `${config.target}?token=${encodeURIComponent(token)}`;
}
