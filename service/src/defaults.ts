// Values that other layers (the CDKTF stacks, the Packer AMI, the local
// cluster, the k6 scripts) must agree with. Import them rather than repeating
// the numbers, so that a change here is a change everywhere.

/** Port the service listens on unless PORT says otherwise. */
export const DEFAULT_PORT = 8080;

/** The server pings every connection this often; load balancer idle timeouts must exceed it. */
export const PING_INTERVAL_MS = 25_000;

/** Seconds the service keeps serving after SIGTERM before it closes sockets (DRAIN_SECONDS default). */
export const DEFAULT_DRAIN_SECONDS = 10;

/** After the drain wait, sockets are closed over this window, and the process exits within DRAIN_SECONDS + this bound. */
export const DRAIN_EXIT_GRACE_SECONDS = 10;

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

// --- ElastiCache IAM authentication (REDIS_AUTH=iam, bus/redisCredentials.ts) ---
/** Lifetime of a signed auth token; ElastiCache accepts at most 15 minutes. */
export const IAM_TOKEN_TTL_SECONDS = 900;
/**
 * A new token is signed this often: reconnects always present one with at least
 * 5 minutes left, and open connections re-authenticate long before ElastiCache's
 * 12-hour limit on an IAM-authenticated connection.
 */
export const IAM_TOKEN_REFRESH_MS = 10 * 60_000;
