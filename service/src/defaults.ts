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

// Identity and the publish API (service/src/auth, service/src/http/publishApi).

/** Paths of the publish API and of the local-only development token endpoint. */
export const AUTH_PATHS = {
  /** Everything of the server-to-server API; the public listeners refuse it unless configured. */
  api: '/api/',
  publishPrefix: '/api/rooms/',
  devToken: '/dev/token',
} as const;

/** Default tolerance for exp and nbf (AUTH_CLOCK_SKEW_SECONDS). */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;

/** The server asks for a new token this long before a connection's token runs out (or halfway, if sooner). */
export const TOKEN_REFRESH_LEAD_MS = 60_000;

/** How often connections are checked for tokens about to run out. */
export const TOKEN_CLOCK_TICK_MS = 1000;

/** Most patterns a `rooms` claim may hold. */
export const MAX_ROOM_PATTERNS = 100;

/** Shortest AUTH_JWT_SECRET and PUBLISH_API_KEY: 256 bits of base64 or hex. */
export const MIN_SECRET_CHARS = 32;

/** Remote key sets: how long a fetch may take, how long keys are kept, and how soon a token naming an unknown key id may fetch them again (bounds what a flood of made-up key ids costs the issuer). */
export const JWKS_TIMEOUT_MS = 5000;
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
export const JWKS_COOLDOWN_MS = 5000;

/** Publish API: messages a second per instance (PUBLISH_API_RATE default), burst twice that; largest body. */
export const DEFAULT_PUBLISH_API_RATE = 50;
export const MAX_PUBLISH_BODY_BYTES = 16 * 1024;

/** Lifetime of a token from the local development endpoint. */
export const DEV_TOKEN_TTL_SECONDS = 3600;
