// Protocol-level limits shared by the server's validator and the clients.

export const PROTOCOL_VERSION = 1;

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

export const ERROR_CODES = [
  'bad_json',
  'bad_request',
  'unknown_type',
  'too_long',
  'not_joined',
  'too_many_rooms',
  'rate_limited',
  'unavailable',
  // AUTH_MODE=jwt: a room outside the token's `rooms`, or a refresh for another user.
  'forbidden',
  // AUTH_MODE=jwt: a refresh token that does not verify.
  'bad_token',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** WebSocket close codes the server uses, and why. */
export const CLOSE_CODES = {
  draining: 1001,
  policyViolation: 1008,
  frameTooLarge: 1009,
  tryAgainLater: 1013,
  /** AUTH_MODE=jwt: the connection's token ran out and no refresh came (application range). */
  tokenExpired: 4001,
} as const;
