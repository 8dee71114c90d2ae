// Server frames as JSON text. Message frames are built in two halves around
// the id, because the id is only known once Redis has appended the message;
// the halves are joined once per message, never per recipient.
import type { ErrorCode } from './codes.js';
import { PROTOCOL_VERSION } from './codes.js';

const json = JSON.stringify;

export function helloFrame(instance: string, connection: string): string {
  return `{"type":"hello","instance":${json(instance)},"connection":${json(connection)},"protocol":${PROTOCOL_VERSION}}`;
}

/** `users`: distinct users behind the `members` connections (each connection is its own user unless AUTH_MODE=jwt). */
export function joinedFrame(room: string, members: number, recovered: boolean, epoch: string, users = members): string {
  return `{"type":"joined","room":${json(room)},"members":${members},"users":${users},"recovered":${recovered},"epoch":${json(epoch)}}`;
}

export function gapFrame(room: string): string {
  return `{"type":"gap","room":${json(room)}}`;
}

export function presenceFrame(room: string, members: number, users = members): string {
  return `{"type":"presence","room":${json(room)},"members":${members},"users":${users}}`;
}

export function leftFrame(room: string): string {
  return `{"type":"left","room":${json(room)}}`;
}

export function pongFrame(ref?: string): string {
  return ref === undefined ? '{"type":"pong"}' : `{"type":"pong","ref":${json(ref)}}`;
}

export function tokenExpiringFrame(closesAt: number): string {
  return `{"type":"token_expiring","closesAt":${closesAt}}`;
}

export function refreshedFrame(closesAt: number, ref?: string): string {
  return ref === undefined ? `{"type":"refreshed","closesAt":${closesAt}}` : `{"type":"refreshed","closesAt":${closesAt},"ref":${json(ref)}}`;
}

export function errorFrame(code: ErrorCode, message: string, ref?: string): string {
  const base = `{"type":"error","code":"${code}","message":${json(message)}`;
  return ref === undefined ? `${base}}` : `${base},"ref":${json(ref)}}`;
}

/** Everything of a message frame that comes before its id. Constant per room. */
export function messagePrefix(room: string): string {
  return `{"type":"message","room":${json(room)},"id":"`;
}

/** Everything of a message frame that comes after its id. */
export function messageSuffix(name: string, text: string, ts: number, origin: string): string {
  return `","name":${json(name)},"text":${json(text)},"ts":${ts},"origin":${json(origin)}}`;
}

/** The sender's copy: the same frame with its ref added. */
export function withRef(frame: string, ref: string): string {
  return `${frame.slice(0, -1)},"ref":${json(ref)}}`;
}
