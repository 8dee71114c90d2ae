// Validation of client frames. Pure and total: any string in, either a typed
// frame or an error code with a message out; it never throws. The fuzz test
// holds it to that.
import type { ClientFrame } from './frames.js';
import { isStreamId } from './ids.js';
import { CONTROL_CHARS, EPOCH_MAX_CHARS, NAME_MAX_CHARS, REF_MAX_CHARS, ROOM_PATTERN, TOKEN_MAX_CHARS } from '../constants.js';
import type { ErrorCode } from './codes.js';

export interface ParseLimits {
  /** Largest `text` of a send, in UTF-8 bytes. */
  maxTextBytes: number;
}

export type ParseResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; ref?: string };

// Unpaired surrogates can be written with \u escapes in JSON; they are not
// text and would turn into U+FFFD on the way out, so they are refused.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** UTF-8 length of a well-formed string, without allocating. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function fail(code: ErrorCode, message: string, ref?: string): ParseResult {
  return ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };
}

export function checkRoom(room: unknown): string | undefined {
  if (typeof room !== 'string' || !ROOM_PATTERN.test(room)) {
    return 'room must match ^[A-Za-z0-9_.-]{1,64}$';
  }
  return undefined;
}

/** Why a display name is refused, or undefined; join frames, token claims and the publish API share it. */
export function checkName(name: unknown): string | undefined {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    [...name].length > NAME_MAX_CHARS ||
    CONTROL_CHARS.test(name) ||
    LONE_SURROGATE.test(name)
  ) {
    return `name must be 1 to ${NAME_MAX_CHARS} characters without control characters`;
  }
  return undefined;
}

/** Why a message text is refused (with its error code), or undefined; sends and the publish API share it. */
export function checkText(text: unknown, limits: ParseLimits): { code: ErrorCode; message: string } | undefined {
  if (typeof text !== 'string' || text.length === 0) return { code: 'bad_request', message: 'text must be a non-empty string' };
  if (LONE_SURROGATE.test(text)) return { code: 'bad_request', message: 'text must be valid Unicode' };
  if (utf8Length(text) > limits.maxTextBytes) return { code: 'too_long', message: `text is longer than ${limits.maxTextBytes} bytes of UTF-8` };
  return undefined;
}

export function parseClientFrame(data: string, limits: ParseLimits): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return fail('bad_json', 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('bad_request', 'frame must be a JSON object');
  }
  const frame = value as Record<string, unknown>;

  // The ref is checked first so that every later error can echo it.
  let ref: string | undefined;
  if (frame.ref !== undefined) {
    if (typeof frame.ref !== 'string' || frame.ref.length > REF_MAX_CHARS || LONE_SURROGATE.test(frame.ref)) {
      return fail('bad_request', `ref must be a string of at most ${REF_MAX_CHARS} characters`);
    }
    ref = frame.ref;
  }

  const type = frame.type;
  if (typeof type !== 'string') return fail('bad_request', 'type must be a string', ref);

  switch (type) {
    case 'join': {
      const roomError = checkRoom(frame.room);
      if (roomError) return fail('bad_request', roomError, ref);
      const name = frame.name;
      const nameError = checkName(name);
      if (nameError) return fail('bad_request', nameError, ref);
      if (frame.since !== undefined && !isStreamId(frame.since)) {
        return fail('bad_request', 'since must be a message id such as "1700000000000-0" (two 64-bit parts)', ref);
      }
      if (frame.epoch !== undefined && (typeof frame.epoch !== 'string' || !/^[0-9A-Za-z]*$/.test(frame.epoch) || frame.epoch.length > EPOCH_MAX_CHARS)) {
        return fail('bad_request', `epoch must be the room epoch from a joined frame (at most ${EPOCH_MAX_CHARS} letters and digits)`, ref);
      }
      const join: ClientFrame = { type: 'join', room: frame.room as string, name: name as string };
      if (frame.since !== undefined) join.since = frame.since as string;
      if (frame.epoch !== undefined && frame.since !== undefined) join.epoch = frame.epoch as string;
      if (ref !== undefined) join.ref = ref;
      return { ok: true, frame: join };
    }
    case 'leave': {
      const roomError = checkRoom(frame.room);
      if (roomError) return fail('bad_request', roomError, ref);
      return { ok: true, frame: ref === undefined ? { type: 'leave', room: frame.room as string } : { type: 'leave', room: frame.room as string, ref } };
    }
    case 'send': {
      const roomError = checkRoom(frame.room);
      if (roomError) return fail('bad_request', roomError, ref);
      const text = frame.text;
      const textError = checkText(text, limits);
      if (textError) return fail(textError.code, textError.message, ref);
      const send: ClientFrame = { type: 'send', room: frame.room as string, text: text as string };
      if (ref !== undefined) send.ref = ref;
      return { ok: true, frame: send };
    }
    case 'refresh': {
      const token = frame.token;
      if (typeof token !== 'string' || token.length === 0 || token.length > TOKEN_MAX_CHARS) {
        return fail('bad_request', `token must be a JWT of 1 to ${TOKEN_MAX_CHARS} characters`, ref);
      }
      return { ok: true, frame: ref === undefined ? { type: 'refresh', token } : { type: 'refresh', token, ref } };
    }
    case 'ping':
      return { ok: true, frame: ref === undefined ? { type: 'ping' } : { type: 'ping', ref } };
    default:
      return fail('unknown_type', `unknown frame type "${type.slice(0, 32)}"`, ref);
  }
}
