// The protocol's vocabulary shared by the server and the clients: its version,
// error codes and close codes. (Its limits live in constants.ts.)

export const PROTOCOL_VERSION = 1;

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
  /** Too many connections on this instance or from this client address (like HTTP 429). */
  tooManyConnections: 4029,
  /** AUTH_MODE=jwt: the connection's token ran out and no refresh came (application range). */
  tokenExpired: 4001,
} as const;
