// Property-based fuzzing of the frame validator, shared by `npm run chaos` and
// the CI test. No oracle re-implements the rules: valid frames are generated
// from the rules and must be accepted unchanged; each mutation breaks exactly
// one rule and must earn its error code; arbitrary input must never throw and
// must come back either accepted (then stable) or with a known error code.
import fc from 'fast-check';
import { parseClientFrame } from '../service/src/protocol/parse.js';
import { ERROR_CODES } from '../service/src/protocol/limits.js';

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

/** Anything at all: raw strings, JSON of any shape, frames with random fields. */
export const anything = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.dictionary(fc.constantFrom('type', 'room', 'name', 'text', 'ref', 'since', 'x'), fc.jsonValue()).map((o) => JSON.stringify(o)),
  fc.record({ type: fc.constantFrom('join', 'leave', 'send', 'ping'), room: fc.jsonValue(), name: fc.jsonValue(), text: fc.jsonValue(), since: fc.jsonValue(), ref: fc.jsonValue() }, { requiredKeys: ['type'] }).map((o) => JSON.stringify(o)),
);

/** Runs the three properties; throws (with the shrunk counterexample) on the first failure. */
export function fuzzParser(runs: number, seed?: number): { runs: number } {
  const params = { numRuns: runs, seed };
  fc.assert(
    fc.property(validFrame, (frame) => {
      const result = parseClientFrame(JSON.stringify(frame), LIMITS);
      return result.ok && JSON.stringify(result.frame) === JSON.stringify(frame);
    }),
    { ...params, numRuns: Math.ceil(runs * 0.3) },
  );
  fc.assert(
    fc.property(brokenFrame, ([input, code]) => {
      const result = parseClientFrame(input, LIMITS);
      return !result.ok && result.code === code;
    }),
    { ...params, numRuns: Math.ceil(runs * 0.3) },
  );
  fc.assert(
    fc.property(anything, (input) => {
      const result = parseClientFrame(input, LIMITS);
      if (!result.ok) return (ERROR_CODES as readonly string[]).includes(result.code) && result.message.length > 0;
      const again = parseClientFrame(JSON.stringify(result.frame), LIMITS);
      return again.ok && JSON.stringify(again.frame) === JSON.stringify(result.frame);
    }),
    { ...params, numRuns: Math.ceil(runs * 0.4) },
  );
  return { runs: Math.ceil(runs * 0.3) * 2 + Math.ceil(runs * 0.4) };
}

/** A sample of invalid frames, for sending to a live instance. */
export function invalidSample(count: number, seed = 42): Array<[string, string]> {
  return fc.sample(brokenFrame, { numRuns: count, seed });
}
