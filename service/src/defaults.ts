// Values that other layers (the CDKTF stacks, the Packer AMI, the local
// cluster, the k6 scripts) must agree with. Import them rather than repeating
// the numbers, so that a change here is a change everywhere.

/** Port the service listens on unless PORT says otherwise. */
export const DEFAULT_PORT = 8080;

/** The server pings every connection this often; load balancer idle timeouts must exceed it. */
export const PING_INTERVAL_MS = 25_000;

/** Drain timings (DRAIN_SECONDS default, the close window) live with the rest of the drain sequence. */
export { DEFAULT_DRAIN_SECONDS, DRAIN_EXIT_GRACE_SECONDS } from './drain.js';

/** Frames larger than this are refused with close code 1009. */
export const HARD_FRAME_LIMIT_BYTES = 16 * 1024;

/** Paths of the HTTP interface. */
export const PATHS = {
  page: '/',
  health: '/healthz',
  ready: '/readyz',
  metrics: '/metrics',
  websocket: '/ws',
} as const;

/** Presence entries of an instance expire this long after its last refresh (kill -9 leaves no ghost for longer). */
export const PRESENCE_TTL_MS = 15_000;
export const PRESENCE_REFRESH_MS = 5_000;
