// The frames of protocol version 1, as types, plus builders for the frames a
// client sends. The page, the k6 scripts and the tests build frames here
// rather than writing JSON by hand.
import type { ErrorCode } from './codes.js';

export interface JoinFrame { type: 'join'; room: string; name: string; since?: string; epoch?: string; ref?: string }
export interface LeaveFrame { type: 'leave'; room: string; ref?: string }
export interface SendFrame { type: 'send'; room: string; text: string; ref?: string }
export interface PingFrame { type: 'ping'; ref?: string }
/** AUTH_MODE=jwt: a new token for this connection, for the same user. */
export interface RefreshFrame { type: 'refresh'; token: string; ref?: string }
export type ClientFrame = JoinFrame | LeaveFrame | SendFrame | PingFrame | RefreshFrame;

export interface HelloFrame { type: 'hello'; instance: string; connection: string; protocol: number }
export interface JoinedFrame { type: 'joined'; room: string; members: number; users: number; recovered: boolean; epoch: string }
/** The instance found messages of the room missing from its history: the member is out of the room and should join again. */
export interface GapFrame { type: 'gap'; room: string }
export interface MessageFrame {
  type: 'message';
  room: string;
  id: string;
  name: string;
  text: string;
  ts: number;
  origin: string;
  ref?: string;
}
export interface PresenceFrame { type: 'presence'; room: string; members: number; users: number }
export interface LeftFrame { type: 'left'; room: string }
export interface PongFrame { type: 'pong'; ref?: string }
/** AUTH_MODE=jwt: the token runs out at `closesAt` (ms since the epoch); send a refresh before then. */
export interface TokenExpiringFrame { type: 'token_expiring'; closesAt: number }
/** AUTH_MODE=jwt: the refresh was accepted; the connection now lasts until `closesAt`. */
export interface RefreshedFrame { type: 'refreshed'; closesAt: number; ref?: string }
export interface ErrorFrame { type: 'error'; code: ErrorCode; message: string; ref?: string }
export type ServerFrame =
  | HelloFrame
  | JoinedFrame
  | GapFrame
  | MessageFrame
  | PresenceFrame
  | LeftFrame
  | PongFrame
  | TokenExpiringFrame
  | RefreshedFrame
  | ErrorFrame;

export function joinFrame(room: string, name: string, since?: string, epoch?: string, ref?: string): string {
  const frame: JoinFrame = { type: 'join', room, name };
  if (since !== undefined) frame.since = since;
  if (since !== undefined && epoch !== undefined) frame.epoch = epoch;
  if (ref !== undefined) frame.ref = ref;
  return JSON.stringify(frame);
}

export function leaveFrame(room: string): string {
  return JSON.stringify({ type: 'leave', room });
}

export function sendFrame(room: string, text: string, ref?: string): string {
  return JSON.stringify(ref === undefined ? { type: 'send', room, text } : { type: 'send', room, text, ref });
}

export function pingFrame(ref?: string): string {
  return JSON.stringify(ref === undefined ? { type: 'ping' } : { type: 'ping', ref });
}

export function refreshFrame(token: string, ref?: string): string {
  return JSON.stringify(ref === undefined ? { type: 'refresh', token } : { type: 'refresh', token, ref });
}
