// Every limit, default and timing of the service, in one place. Other layers
// (the CDKTF stacks, the Packer AMI, the local cluster, the k6 scripts, the
// browser page) import what they must agree with from here, so a change here
// is a change everywhere. The page loads this module as it is, so it imports
// nothing but drain.js (which http/routes.ts serves beside it).

// ---- HTTP and WebSocket endpoint ------------------------------------------

/** Port the service listens on unless PORT says otherwise. */
export const DEFAULT_PORT = 8080;

/** Paths of the HTTP interface. */
export const PATHS = {
  page: '/',
  health: '/healthz',
  ready: '/readyz',
  metrics: '/metrics',
  websocket: '/ws',
} as const;

/** The server pings every connection this often; load balancer idle timeouts must exceed it. */
export const PING_INTERVAL_MS = 25_000;

/** Frames larger than this are refused with close code 1009. */
export const HARD_FRAME_LIMIT_BYTES = 16 * 1024;

/** Slow or stalled HTTP requests (slowloris) are cut off after these. */
export const HTTP_TIMEOUTS = {
  headersMs: 10_000,
  requestMs: 15_000,
  /** Above the load balancer's idle timeout (ALB: 60 s), so the balancer closes idle keep-alives first. */
  keepAliveMs: 65_000,
  /** How often Node enforces the two above (its default, 30 s, lets slowloris sockets live too long). */
  checkEveryMs: 1000,
} as const;

// ---- Drain ------------------------------------------------------------------

// The drain timings are shared with the stacks and the AMI's unit: drain.ts holds them.
export { DEFAULT_DRAIN_SECONDS, DRAIN_EXIT_GRACE_SECONDS } from './drain.js';

/** Closing sockets at drain is spread over at most this long, so clients do not reconnect all at once. */
export const DRAIN_CLOSE_SPREAD_MAX_MS = 5000;

// ---- Environment: defaults and accepted ranges -----------------------------

/** Each configurable value: its default and the range loadConfig accepts. */
export const CONFIG_LIMITS = {
  historyLimit: { fallback: 1000, min: 1, max: 1_000_000 },
  /** The default is also capped at HISTORY_LIMIT. */
  joinHistory: { fallback: 50, min: 0 },
  /** A message frame carries the text JSON-escaped plus about 200 bytes of envelope; it must fit the hard frame limit. */
  maxTextBytes: { fallback: 4096, min: 1, max: HARD_FRAME_LIMIT_BYTES / 2 },
  maxRoomsPerConnection: { fallback: 20, min: 1, max: 1000 },
  /** Sends per second per connection; the bucket holds twice as many. */
  rateLimit: { fallback: 20, max: 100_000 },
  drainSeconds: { min: 0, max: 3600 },
  workers: { min: 1, max: 256 },
  pingIntervalMs: { min: 100, max: 600_000 },
  maxBufferedBytes: { fallback: 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024 },
  /** Open WebSocket connections one instance holds at most (MAX_CONNECTIONS). */
  maxConnections: { fallback: 20_000, min: 1, max: 1_000_000 },
  /**
   * Open WebSocket connections per client address (MAX_CONNECTIONS_PER_ADDRESS); 0 = no cap.
   * Off by default: behind a load balancer every client shares the balancer's
   * addresses until TRUSTED_PROXIES names them.
   */
  maxConnectionsPerAddress: { fallback: 0, min: 0, max: 1_000_000 },
  /** Seconds a room's history and metadata live after its last message (HISTORY_TTL); 0 = for ever. */
  historyTtlSeconds: { fallback: 0, min: 0, max: 10 * 365 * 24 * 3600 },
} as const;

// ---- Protocol ------------------------------------------------------------------

/** Room names: letters, digits, underscore, dot, dash; 1 to 64 of them. */
export const ROOM_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Display names: 1 to 32 characters (code points), no control characters. */
export const NAME_MAX_CHARS = 32;
// C0, DEL and C1 controls, plus line/paragraph separators that break rendering.
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** `ref` is an opaque client token echoed back; bounded so it cannot bloat frames. */
export const REF_MAX_CHARS = 64;

/** A connection token longer than this is refused unread (the URL and the refresh frame carry it). */
export const TOKEN_MAX_CHARS = 8192;

// ---- Per-connection budgets ----------------------------------------------------

/** Errors a client may cause before it counts as abuse and is closed with 1008: a burst of this many... */
export const ERROR_BURST = 50;
/** ...refilled at this many a second. */
export const ERROR_REFILL_PER_SECOND = ERROR_BURST / 10;

/**
 * Every client frame costs tokens from one bucket per connection (rate and
 * burst from RATE_LIMIT); a history read costs more, by the messages it
 * returned (charged after the read, so a heavy join leaves the connection in
 * debt until it refills).
 */
export const FRAME_COST = {
  send: 1,
  join: 1,
  leave: 1,
  ping: 1,
  /** A refresh verifies a token: as dear as a send, so a client cannot spin the verifier. */
  refresh: 1,
  /** Added to a join's cost for each this many messages it replayed. */
  replayMessagesPerToken: 20,
} as const;

/** Room epochs in `join` are at most this long. */
export const EPOCH_MAX_CHARS = 32;

/** A peer that does not answer the close handshake is cut off after this. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 2000;

// ---- Rooms -----------------------------------------------------------------------

/** Presence frames of one room go out at most this often. */
export const PRESENCE_FRAME_INTERVAL_MS = 250;
/** Leaves and disconnects are counted together before presence is written. */
export const PRESENCE_WRITE_DELAY_MS = 100;
/** A room catch-up that failed is tried again after this. */
export const CATCH_UP_RETRY_MS = 1000;
/** Rooms that catch up at once after a Redis outage. */
export const CATCH_UP_CONCURRENCY = 8;
/** Live deliveries held per room while it catches up; past this its members are told of a gap. */
export const CATCH_UP_BUFFER_MAX = 1000;
/** Failures of the same kind across rooms are logged at most once per this window, with a count. */
export const FAILURE_LOG_WINDOW_MS = 10_000;
/**
 * A replay is written while the member's unsent bytes stay under this, then
 * waits for them to drain: a healthy reader gets any replay, and the
 * MAX_BUFFERED_BYTES cut-off is for readers that stop.
 */
export const REPLAY_HIGH_WATER_BYTES = 256 * 1024;
/** A replay that makes no progress for this long (the reader stopped) closes the connection with 1013. */
export const REPLAY_STALL_MS = 30_000;
/** Live deliveries held for one joining member while its replay is written; past this it is closed with 1013. */
export const JOIN_HOLD_MAX = 10_000;

// ---- Presence in Redis ---------------------------------------------------------

/**
 * Presence is written when a room's local count changes; besides, each
 * instance sends one heartbeat (whatever its number of rooms) every
 * PRESENCE_REFRESH_MS. An instance whose heartbeat is older than
 * PRESENCE_TTL_MS (kill -9) is removed from every room by the next heartbeat
 * of any other instance.
 */
export const PRESENCE_TTL_MS = 15_000;
export const PRESENCE_REFRESH_MS = 5_000;

// ---- Sends ---------------------------------------------------------------------

/** A send with a `ref` is remembered this long per connection: the same ref again is not stored twice. */
export const SEND_DEDUPE_TTL_MS = 120_000;

// ---- Redis connection ----------------------------------------------------------

export const REDIS_TIMING = {
  /** Redis is pinged this often (TIME: alive, and its clock against ours). */
  heartbeatMs: 1000,
  /** Unanswered pings before the broker counts Redis as stalled. */
  heartbeatMissesBeforeStalled: 2,
  /** A command that gets no answer in this long fails instead of waiting for ever. */
  commandTimeoutMs: 2000,
  /**
   * An append must run in Redis this long before the instance stops waiting
   * for it, or the script refuses it: room for the answer's way back and for
   * an event loop that is late to read it.
   */
  appendDeadlineMarginMs: 500,
  /** Clock samples from slower answers than this are not trusted. */
  clockSampleMaxRttMs: 100,
  connectTimeoutMs: 5000,
  /** Short TCP keepalive so a dead Redis (failover, network loss) is noticed quickly. */
  keepAliveMs: 5000,
  /** A resubscribe that failed is tried again after this times 2^attempt, at most reconnectMaxMs. */
  resubscribeBaseMs: 200,
  /** Reconnect backoff: this times 2^attempt, at most... */
  reconnectBaseMs: 100,
  /** ...this long. */
  reconnectMaxMs: 2000,
} as const;

/** REDIS_MODE=cluster: how the instance follows the cluster's slot map and its sharded subscriptions. */
export const REDIS_CLUSTER_TIMING = {
  /** The slot map is read this often, so a failover or a migration is noticed within about this long. */
  slotsRefreshMs: 1000,
  /** A room whose subscription was lost and could not be made yet is tried again after this. */
  resubscribeRetryMs: 250,
  /** A subscription (SSUBSCRIBE/SUNSUBSCRIBE) not answered in this long fails, and its connection starts over. */
  subscribeTimeoutMs: 2000,
} as const;

// ---- Client (ChatSession) ------------------------------------------------------

/** Reconnect backoff of ChatSession: jittered, doubling from the first to the second. */
export const CLIENT_BACKOFF_MS = { initial: 250, max: 10_000 } as const;

// ---- ElastiCache IAM authentication (REDIS_AUTH=iam, bus/redisCredentials.ts) --

/** Lifetime of a signed auth token; ElastiCache accepts at most 15 minutes. */
export const IAM_TOKEN_TTL_SECONDS = 900;
/**
 * A new token is signed this often: reconnects always present one with at least
 * 5 minutes left, and open connections re-authenticate long before ElastiCache's
 * 12-hour limit on an IAM-authenticated connection.
 */
export const IAM_TOKEN_REFRESH_MS = 10 * 60_000;

// ---- Identity (AUTH_MODE=jwt) and the publish API ------------------------------

/** Paths of the server-to-server API and of the local-only development token endpoint. */
export const AUTH_PATHS = {
  /** Everything of the server-to-server API; the public listeners refuse it unless configured. */
  api: '/api/',
  publishPrefix: '/api/rooms/',
  devToken: '/dev/token',
} as const;

/** Default tolerance for exp and nbf (AUTH_CLOCK_SKEW_SECONDS), and its range. */
export const CLOCK_SKEW_SECONDS = { fallback: 30, min: 0, max: 300 } as const;

/** The server asks for a new token this long before a connection's token runs out (or halfway, if sooner). */
export const TOKEN_REFRESH_LEAD_MS = 60_000;

/** How often connections are checked for tokens about to run out. */
export const TOKEN_CLOCK_TICK_MS = 1000;

/** Most patterns a `rooms` claim may hold. */
export const MAX_ROOM_PATTERNS = 100;

/** Shortest AUTH_JWT_SECRET and PUBLISH_API_KEY: 256 bits of base64 or hex. */
export const MIN_SECRET_CHARS = 32;

/**
 * Remote key sets: how long a fetch may take, how long keys are kept, and how
 * soon a token naming an unknown key id may fetch them again (bounds what a
 * flood of made-up key ids costs the issuer).
 */
export const JWKS_TIMEOUT_MS = 5000;
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
export const JWKS_COOLDOWN_MS = 5000;

/** Publish API: messages a second per instance (PUBLISH_API_RATE) and its range; burst twice that; largest body. */
export const PUBLISH_API_RATE = { fallback: 50, max: 100_000 } as const;
export const MAX_PUBLISH_BODY_BYTES = 16 * 1024;

/** Lifetime of a token from the local development endpoint. */
export const DEV_TOKEN_TTL_SECONDS = 3600;
