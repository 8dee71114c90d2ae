// An independent reading of the client-frame rules in docs/protocol.md, for
// judging the service's validator (service/src/protocol/parse.ts) on fuzzed
// input. It is written from the document, not from parse.ts, and deliberately
// with other means (Unicode property escapes, String#isWellFormed, BigInt,
// Buffer.byteLength), so the fuzz test compares two readings of one spec.
import type { ErrorCode } from '../service/src/protocol/codes.js';

export interface OracleLimits {
  /** MAX_TEXT_BYTES: largest `text` of a send, in UTF-8 bytes. */
  maxTextBytes: number;
}

export interface Judgement {
  /** Codes the broken rules earn; empty when the frame is valid. */
  codes: ErrorCode[];
  /**
   * Whether accepting the frame is also right. True for valid frames, and for a
   * `since` whose parts look like an id but lie outside what Redis can read
   * after: refusing it at validation and answering the join without replay are
   * both correct, only `unavailable` (judged over a socket) is not.
   */
  mayPass: boolean;
}

const TYPES = new Set(['join', 'leave', 'send', 'ping']);
const ROOM = /^[A-Za-z0-9_.-]{1,64}$/;
// "Control characters": Unicode's Cc (C0, DEL, C1), and the line and paragraph
// separators the protocol also refuses because they break a chat line.
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const U64_MAX = 2n ** 64n - 1n;

const codePoints = (s: string) => [...s].length;
// String#isWellFormed is in Node 20, though not in this project's TypeScript lib (es2022).
const wellFormed = (s: string) => (s as string & { isWellFormed(): boolean }).isWellFormed();
const isText = (v: unknown): v is string => typeof v === 'string' && wellFormed(v);

type SinceVerdict = 'valid' | 'out_of_range' | 'invalid';

/** A stream id is `<ms>-<seq>`, each part a decimal of at most 20 digits that Redis reads as an unsigned 64-bit number. */
function judgeSince(since: unknown): SinceVerdict {
  if (typeof since !== 'string') return 'invalid';
  const parts = since.split('-');
  if (parts.length !== 2 || !parts.every((p) => p.length >= 1 && p.length <= 20 && [...p].every((c) => c >= '0' && c <= '9'))) {
    return 'invalid';
  }
  const [ms, seq] = parts.map(BigInt);
  // Nothing can come after the largest id, so an exclusive range from it is not a range.
  if (ms > U64_MAX || seq > U64_MAX || (ms === U64_MAX && seq === U64_MAX)) return 'out_of_range';
  return 'valid';
}

export function judgeFrame(input: string, limits: OracleLimits): Judgement {
  let value: unknown;
  try {
    value = JSON.parse(input);
  } catch {
    return { codes: ['bad_json'], mayPass: false };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { codes: ['bad_request'], mayPass: false };
  const frame = value as Record<string, unknown>;
  const has = (key: string) => Object.hasOwn(frame, key);
  const codes: ErrorCode[] = [];
  const broken = (code: ErrorCode) => codes.push(code);
  let sinceOutOfRange = false;

  if (has('ref') && !(isText(frame.ref) && frame.ref.length <= 64)) broken('bad_request');
  const type = has('type') ? frame.type : undefined;
  if (typeof type !== 'string') broken('bad_request');
  else if (!TYPES.has(type)) broken('unknown_type');
  else {
    const roomOk = has('room') && typeof frame.room === 'string' && ROOM.test(frame.room);
    if (type !== 'ping' && !roomOk) broken('bad_request');
    if (type === 'join') {
      const name = has('name') ? frame.name : undefined;
      if (!(isText(name) && codePoints(name) >= 1 && codePoints(name) <= 32 && !CONTROL.test(name))) broken('bad_request');
      if (has('since')) {
        const since = judgeSince(frame.since);
        if (since === 'invalid') broken('bad_request');
        if (since === 'out_of_range') sinceOutOfRange = true;
      }
    }
    if (type === 'send') {
      const text = has('text') ? frame.text : undefined;
      if (!(isText(text) && text.length > 0)) broken('bad_request');
      else if (Buffer.byteLength(text, 'utf8') > limits.maxTextBytes) broken('too_long');
    }
  }
  if (codes.length > 0) return { codes, mayPass: false };
  if (sinceOutOfRange) return { codes: ['bad_request'], mayPass: true };
  return { codes: [], mayPass: true };
}

/** The frame a valid input stands for: its known fields, unknown ones dropped. */
export function expectedFrame(input: string): Record<string, unknown> {
  const frame = JSON.parse(input) as Record<string, unknown>;
  const keep: Record<string, readonly string[]> = {
    join: ['type', 'room', 'name', 'since', 'ref'],
    leave: ['type', 'room', 'ref'],
    send: ['type', 'room', 'text', 'ref'],
    ping: ['type', 'ref'],
  };
  return Object.fromEntries(keep[frame.type as string].filter((k) => Object.hasOwn(frame, k)).map((k) => [k, frame[k]]));
}
