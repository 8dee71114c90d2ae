// Property-based fuzzing of the frame validator, shared by `npm run chaos` and
// the CI test. Valid frames generated from the rules must be accepted
// unchanged; each mutation that breaks exactly one rule must earn its error
// code; and mixed or arbitrary input is judged by an independent oracle
// (oracle.ts): accepted exactly when valid, otherwise refused with the code of
// a rule it breaks, and never a throw.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { parseClientFrame } from '../service/src/protocol/parse.js';
import { judgeFrame, expectedFrame } from './oracle.js';

export const LIMITS = { maxTextBytes: 4096 };

/** Unpaired surrogates are not text; they would be refused, so valid frames leave them out. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;

const roomChar = fc.constantFrom(...'abcXYZ019_.-'.split(''));
export const room = fc.string({ unit: roomChar, minLength: 1, maxLength: 64 });
const name = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 32 }).filter((n) => !/[\u0000-\u001f\u007f]/.test(n));
const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }).filter(wellFormed);
const ref = fc.option(fc.string({ maxLength: 64 }).filter(wellFormed), { nil: undefined });
const since = fc.option(fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`), { nil: undefined });

const withoutUndefined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export const validFrame = fc.oneof(
  fc.record({ type: fc.constant('join'), room, name, since }).map(withoutUndefined),
  fc.record({ type: fc.constant('leave'), room }),
  fc.record({ type: fc.constant('send'), room, text, ref }).map(withoutUndefined),
  fc.record({ type: fc.constant('ping'), ref }).map(withoutUndefined),
);

/** A valid frame with one rule broken, and the code that must answer it. */
export const brokenFrame: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(room, name).map(([r, n]): [string, string] => [JSON.stringify({ type: 'join', room: `${r} x`, name: n }), 'bad_request']),
  fc.tuple(room).map(([r]): [string, string] => [JSON.stringify({ type: 'join', room: r, name: 'a'.repeat(33) }), 'bad_request']),
  fc.tuple(room, fc.integer({ min: 0, max: 31 })).map(([r, c]): [string, string] => [JSON.stringify({ type: 'join', room: r, name: `a${String.fromCharCode(c)}` }), 'bad_request']),
  fc.tuple(room, name, fc.string({ minLength: 1 }).filter((s) => !/^\d{1,20}-\d{1,20}$/.test(s))).map(([r, n, s]): [string, string] => [JSON.stringify({ type: 'join', room: r, name: n, since: s }), 'bad_request']),
  fc.tuple(room).map(([r]): [string, string] => [JSON.stringify({ type: 'send', room: r, text: 'x'.repeat(LIMITS.maxTextBytes + 1) }), 'too_long']),
  fc.tuple(room).map(([r]): [string, string] => [JSON.stringify({ type: 'send', room: r, text: '' }), 'bad_request']),
  fc.tuple(room, fc.string({ minLength: 65, maxLength: 100 })).map(([r, x]): [string, string] => [JSON.stringify({ type: 'ping', ref: x, room: r }), 'bad_request']),
  fc.string({ minLength: 1, maxLength: 20 }).filter((t) => !['join', 'leave', 'send', 'ping'].includes(t)).map((t): [string, string] => [JSON.stringify({ type: t }), 'unknown_type']),
  fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v): [string, string] => [JSON.stringify(v), 'bad_request']),
  fc.string().filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }).map((s): [string, string] => [s, 'bad_json']),
);

// Values at and around each rule's edges, so mixed frames land on both sides.
const roomEdge = fc.oneof(
  fc.constantFrom('', 'a'.repeat(64), 'a'.repeat(65), 'room one', 'caf\u00e9', 'a/b', 'a\n', '\u0661', 'A-z_0.9'),
  room.map((r) => `${r}${'x'.repeat(64)}`.slice(0, 65)),
);
const nameEdge = fc.oneof(
  fc.constantFrom('', 'a'.repeat(32), 'a'.repeat(33), '\u{1F600}'.repeat(32), '\u{1F600}'.repeat(33), 'a\u0085', 'a\u2028', 'a\u007f', '\ud800', 'a\udc00b', ' '),
  fc.integer({ min: 0, max: 0x2029 }).map((c) => `n${String.fromCharCode(c)}`),
);
const textEdge = fc.oneof(
  fc.constantFrom('', '\u00e9'.repeat(2048), `${'\u00e9'.repeat(2048)}a`, '\u{1F600}'.repeat(1024), `${'\u{1F600}'.repeat(1024)}a`, 'x'.repeat(4096), 'x'.repeat(4097), 'a\ud83d', '\udfff'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);
const sinceEdge = fc.oneof(
  fc.constantFrom('0-0', '1-', '-1', '1-2-3', ' 1-2', '1.5-2', '\u0661-1', '18446744073709551615-0', '18446744073709551615-18446744073709551615', '18446744073709551616-0', '0-18446744073709551616', '99999999999999999999-99999999999999999999', '000000000000000000001-0', '00000000000000000000-00000000000000000000'),
  fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 70n }), fc.bigInt({ min: 0n, max: 2n ** 70n })).map(([a, b]) => `${a}-${b}`),
);
const refEdge = fc.constantFrom('', 'r'.repeat(64), 'r'.repeat(65), '\u{1F600}'.repeat(32), '\u{1F600}'.repeat(33), '\ud800');

/** Mostly a valid value, sometimes an edge, any JSON at all, or missing (undefined is left out by JSON.stringify). */
const field = (valid: fc.Arbitrary<unknown>, edge: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 10, arbitrary: valid },
    { weight: 3, arbitrary: edge },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

/** Frames of every type with each field valid, at an edge, of the wrong shape or missing. */
export const mixedFrame = fc
  .record(
    {
      type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('join', 'leave', 'send', 'ping') }, { weight: 1, arbitrary: fc.constantFrom('Join', 'ping ', 'message', '', 'hello') }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
      room: field(room, roomEdge),
      name: field(name, nameEdge),
      text: field(text, textEdge),
      since: field(since.map((s) => s ?? '1-1'), sinceEdge),
      ref: field(fc.string({ maxLength: 64 }).filter(wellFormed), refEdge),
      extra: fc.option(fc.jsonValue({ maxDepth: 1 }), { nil: undefined }),
    },
    { requiredKeys: ['type'] },
  )
  .map((frame) => JSON.stringify(frame));

/** Anything at all: raw strings (mostly not JSON) and JSON of any shape. */
export const anything = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.dictionary(fc.constantFrom('type', 'room', 'name', 'text', 'ref', 'since', 'x'), fc.jsonValue()).map((o) => JSON.stringify(o)),
);

/** Where the validator and the oracle part ways on one input, or undefined. */
export function disagreement(input: string): string | undefined {
  const judged = judgeFrame(input, LIMITS);
  const result = parseClientFrame(input, LIMITS);
  if (result.ok) {
    if (!judged.mayPass) return `accepted, but the oracle finds it breaks a rule (${judged.codes.join(', ')})`;
    if (judged.codes.length === 0 && !isDeepStrictEqual(result.frame, expectedFrame(input))) return `accepted as ${JSON.stringify(result.frame)}`;
    return undefined;
  }
  if (result.message.length === 0) return 'refused without a message';
  if (judged.codes.length === 0) return `refused with ${result.code}, but the oracle finds it valid`;
  if (!judged.codes.includes(result.code)) return `refused with ${result.code}, the oracle expects one of ${judged.codes.join(', ')}`;
  return undefined;
}

/** Runs the three properties; throws (with the shrunk counterexample) on the first failure. */
export function fuzzParser(runs: number, seed?: number): { runs: number } {
  const share = { valid: Math.ceil(runs / 4), broken: Math.ceil(runs / 4) };
  const rest = runs - share.valid - share.broken;
  const params = { seed };
  fc.assert(
    fc.property(validFrame, (frame) => {
      const result = parseClientFrame(JSON.stringify(frame), LIMITS);
      return result.ok && JSON.stringify(result.frame) === JSON.stringify(frame);
    }),
    { ...params, numRuns: share.valid },
  );
  fc.assert(
    fc.property(brokenFrame, ([input, code]) => {
      const result = parseClientFrame(input, LIMITS);
      return !result.ok && result.code === code;
    }),
    { ...params, numRuns: share.broken },
  );
  // Against the oracle: never a throw, accepted exactly when the rules allow it,
  // and refused with the code of a rule the input really breaks.
  fc.assert(
    fc.property(fc.oneof({ weight: 3, arbitrary: mixedFrame }, { weight: 1, arbitrary: anything }), (input) => {
      const why = disagreement(input);
      if (why) throw new Error(`${why}: ${input.slice(0, 300)}`);
    }),
    { ...params, numRuns: rest },
  );
  return { runs: share.valid + share.broken + rest };
}

// Byte sequences that are not UTF-8: a stray continuation byte, an overlong
// encoding, a truncated sequence, an encoded surrogate, bytes never used.
const BAD_UTF8 = [[0x80], [0xc0, 0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80]];

/** A valid frame's bytes with one invalid UTF-8 sequence spliced in. */
const invalidUtf8 = fc
  .tuple(validFrame, fc.nat(), fc.constantFrom(...BAD_UTF8))
  .map(([frame, at, bad]) => {
    const bytes = Buffer.from(JSON.stringify(frame), 'utf8');
    const cut = at % (bytes.length + 1);
    return Buffer.concat([bytes.subarray(0, cut), Buffer.from(bad), bytes.subarray(cut)]);
  });

export interface LiveCase {
  /** Sent as a text frame, whatever its bytes. */
  payload: string | Buffer;
  /** Any of these error codes is a right answer. */
  codes: string[];
}

/**
 * Invalid frames for a live instance: one-rule mutations, mixed and arbitrary
 * input the oracle finds invalid, and frames that are not UTF-8.
 */
export function invalidSample(count: number, seed = 42): LiveCase[] {
  const fromOracle = fc
    .oneof(mixedFrame, anything)
    // What arrives: a lone surrogate in a raw string goes out as U+FFFD.
    .map((raw) => Buffer.from(raw, 'utf8').toString('utf8'))
    .map((input) => ({ input, judged: judgeFrame(input, LIMITS) }))
    .filter(({ judged }) => !judged.mayPass)
    .map(({ input, judged }): LiveCase => ({ payload: input, codes: judged.codes }));
  const cases = fc.oneof(
    brokenFrame.map(([payload, code]): LiveCase => ({ payload, codes: [code] })),
    fromOracle,
    invalidUtf8.map((payload): LiveCase => ({ payload, codes: ['bad_request'] })),
  );
  return fc.sample(cases, { numRuns: count, seed });
}
