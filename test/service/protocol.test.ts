import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientFrame, utf8Length } from '../../service/src/protocol/parse.js';
import { compareIds, isStreamId, maxId } from '../../service/src/protocol/ids.js';
import { errorFrame, gapFrame, joinedFrame, messagePrefix, messageSuffix, withRef } from '../../service/src/protocol/encode.js';
import { RoomLog } from '../../service/src/protocol/roomLog.js';
import { joinFrame, sendFrame } from '../../service/src/protocol/frames.js';
import { ChatSession, type SocketLike } from '../../service/src/protocol/session.js';

const limits = { maxTextBytes: 16 };
const parse = (value: unknown) => parseClientFrame(typeof value === 'string' ? value : JSON.stringify(value), limits);
const code = (value: unknown) => {
  const result = parse(value);
  return result.ok ? 'ok' : result.code;
};

describe('parseClientFrame', () => {
  it('accepts every frame type in its documented form', () => {
    assert.deepEqual(parse({ type: 'join', room: 'a.b-c_9', name: 'Ann' }), { ok: true, frame: { type: 'join', room: 'a.b-c_9', name: 'Ann' } });
    assert.deepEqual(parse({ type: 'join', room: 'r', name: 'Ann', since: '1-0' }), {
      ok: true,
      frame: { type: 'join', room: 'r', name: 'Ann', since: '1-0' },
    });
    assert.deepEqual(parse({ type: 'leave', room: 'r' }), { ok: true, frame: { type: 'leave', room: 'r' } });
    assert.deepEqual(parse({ type: 'send', room: 'r', text: 'hi', ref: 'x' }), { ok: true, frame: { type: 'send', room: 'r', text: 'hi', ref: 'x' } });
    assert.deepEqual(parse({ type: 'ping' }), { ok: true, frame: { type: 'ping' } });
    assert.deepEqual(parse({ type: 'ping', ref: 'p' }), { ok: true, frame: { type: 'ping', ref: 'p' } });
  });

  it('ignores unknown extra fields, so clients may add them', () => {
    assert.equal(code({ type: 'ping', extra: [1, 2] }), 'ok');
  });

  it('answers bad_json for anything that is not JSON', () => {
    for (const text of ['', '{', 'ping', '{"type":"ping"', '\u0000']) assert.equal(code(text), 'bad_json', text);
  });

  it('answers bad_request for JSON that is not an object or has no string type', () => {
    for (const value of ['null', '[]', '1', '"join"', 'true']) assert.equal(code(value), 'bad_request', value);
    assert.equal(code({ type: 5 }), 'bad_request');
    assert.equal(code({}), 'bad_request');
  });

  it('answers unknown_type for types it does not know, echoing the ref', () => {
    assert.deepEqual(parse({ type: 'shout', ref: 'r1' }), { ok: false, code: 'unknown_type', message: 'unknown frame type "shout"', ref: 'r1' });
  });

  it('checks room names against the pattern', () => {
    for (const room of ['', 'a b', 'x'.repeat(65), 'é', 'a/b', '{r}', 5, null]) {
      assert.equal(code({ type: 'join', room, name: 'n' }), 'bad_request', String(room));
      assert.equal(code({ type: 'send', room, text: 't' }), 'bad_request', String(room));
      assert.equal(code({ type: 'leave', room }), 'bad_request', String(room));
    }
    assert.equal(code({ type: 'join', room: 'x'.repeat(64), name: 'n' }), 'ok');
  });

  it('checks names: 1 to 32 characters, no control characters', () => {
    assert.equal(code({ type: 'join', room: 'r', name: '' }), 'bad_request');
    assert.equal(code({ type: 'join', room: 'r', name: 'a'.repeat(33) }), 'bad_request');
    assert.equal(code({ type: 'join', room: 'r', name: '😀'.repeat(32) }), 'ok', '32 code points, 64 UTF-16 units');
    for (const bad of ['a\nb', 'a\u0000', 'tab\t', '\u007f', '\u0085', '\ud800']) {
      assert.equal(code({ type: 'join', room: 'r', name: bad }), 'bad_request', JSON.stringify(bad));
    }
  });

  it('checks since is a stream id', () => {
    for (const since of ['', '1', '1-', '-1', 'a-b', 5, '1-0-0']) assert.equal(code({ type: 'join', room: 'r', name: 'n', since }), 'bad_request');
  });

  it('bounds text by UTF-8 bytes, not characters', () => {
    assert.equal(code({ type: 'send', room: 'r', text: 'x'.repeat(16) }), 'ok');
    assert.equal(code({ type: 'send', room: 'r', text: 'x'.repeat(17) }), 'too_long');
    assert.equal(code({ type: 'send', room: 'r', text: 'é'.repeat(8) }), 'ok');
    assert.equal(code({ type: 'send', room: 'r', text: 'é'.repeat(9) }), 'too_long');
    assert.equal(code({ type: 'send', room: 'r', text: '😀'.repeat(5) }), 'too_long');
    assert.equal(code({ type: 'send', room: 'r', text: '' }), 'bad_request');
    assert.equal(code({ type: 'send', room: 'r', text: 7 }), 'bad_request');
    assert.equal(code({ type: 'send', room: 'r', text: 'a\udc00' }), 'bad_request');
  });

  it('bounds ref and never echoes an invalid one', () => {
    assert.equal(code({ type: 'ping', ref: 'r'.repeat(64) }), 'ok');
    const result = parse({ type: 'ping', ref: 'r'.repeat(65) });
    assert.equal(result.ok, false);
    assert.equal('ref' in result, false);
    assert.equal(code({ type: 'ping', ref: 5 }), 'bad_request');
  });

  it('builds frames the parser accepts', () => {
    assert.deepEqual(parseClientFrame(joinFrame('r', 'n', '1-2'), limits), { ok: true, frame: { type: 'join', room: 'r', name: 'n', since: '1-2' } });
    assert.deepEqual(parseClientFrame(sendFrame('r', 'hi'), limits), { ok: true, frame: { type: 'send', room: 'r', text: 'hi' } });
  });
});

describe('utf8Length', () => {
  it('matches Buffer.byteLength on well-formed text', () => {
    for (const text of ['', 'abc', 'é', '€', '😀', 'a😀é€z', '\u07ff\u0800\uffff']) {
      assert.equal(utf8Length(text), Buffer.byteLength(text), text);
    }
  });
});

describe('stream ids', () => {
  it('orders by milliseconds, then sequence, numerically', () => {
    assert.ok(compareIds('1-0', '2-0') < 0);
    assert.ok(compareIds('10-0', '9-0') > 0);
    assert.ok(compareIds('5-10', '5-9') > 0);
    assert.equal(compareIds('5-1', '5-1'), 0);
    assert.ok(compareIds('18446744073709551615-0', '18446744073709551614-99') > 0);
    assert.equal(maxId(undefined, '1-0'), '1-0');
    assert.equal(maxId('3-0', '2-9'), '3-0');
  });
  it('recognises ids', () => {
    assert.ok(isStreamId('1700000000000-0'));
    assert.ok(!isStreamId('1700000000000'));
    assert.ok(!isStreamId(' 1-0'));
  });
});

describe('server frames', () => {
  it('are valid JSON with the documented fields', () => {
    const frame = messagePrefix('r') + '5-1' + messageSuffix('Ann "A"', 'line\n<b>', 123, 'i-1');
    assert.deepEqual(JSON.parse(frame), { type: 'message', room: 'r', id: '5-1', name: 'Ann "A"', text: 'line\n<b>', ts: 123, origin: 'i-1' });
    assert.deepEqual(JSON.parse(withRef(frame, 'x"y')).ref, 'x"y');
    assert.deepEqual(JSON.parse(joinedFrame('r', 3, false, '17000001')), { type: 'joined', room: 'r', members: 3, users: 3, recovered: false, epoch: '17000001' });
    assert.deepEqual(JSON.parse(joinedFrame('r', 3, true, '', 2)), { type: 'joined', room: 'r', members: 3, users: 2, recovered: true, epoch: '' });
    assert.deepEqual(JSON.parse(gapFrame('r')), { type: 'gap', room: 'r' });
    assert.deepEqual(JSON.parse(errorFrame('too_long', 'm', 'q')), { type: 'error', code: 'too_long', message: 'm', ref: 'q' });
  });
});

describe('RoomLog', () => {
  it('tells new, duplicate and out-of-order arrivals apart', () => {
    const log = new RoomLog('1-0');
    assert.equal(log.accept('1-1'), 'new');
    assert.equal(log.accept('2-0'), 'new');
    assert.equal(log.accept('2-0'), 'duplicate');
    assert.equal(log.accept('1-5'), 'out_of_order');
    assert.equal(log.lastId, '2-0');
    assert.deepEqual([log.received, log.duplicates, log.outOfOrder], [3, 1, 1]);
  });
});

describe('ids Redis cannot read after', () => {
  it('refuses since parts beyond 64 bits and the very last id, with bad_request', () => {
    for (const since of ['18446744073709551616-0', '99999999999999999999-0', '0-18446744073709551616', '18446744073709551615-18446744073709551615']) {
      assert.equal(isStreamId(since), false, since);
      assert.equal(code({ type: 'join', room: 'r', name: 'n', since }), 'bad_request', since);
    }
    assert.ok(isStreamId('18446744073709551615-0'));
    assert.ok(isStreamId('0-18446744073709551615'));
  });
});

describe('ref on join and leave', () => {
  it('is kept, so the error that answers them can echo it', () => {
    assert.deepEqual(parse({ type: 'join', room: 'r', name: 'n', ref: 'j1' }), { ok: true, frame: { type: 'join', room: 'r', name: 'n', ref: 'j1' } });
    assert.deepEqual(parse({ type: 'leave', room: 'r', ref: 'l1' }), { ok: true, frame: { type: 'leave', room: 'r', ref: 'l1' } });
  });
});

describe('ChatSession', () => {
  /** A socket the test plays the server for: it records what the client sends. */
  function fakeSocket() {
    const sent: Array<Record<string, unknown>> = [];
    const socket: SocketLike & { sent: typeof sent; deliver(frame: object): void } = {
      readyState: 1,
      sent,
      send: (data: string) => void sent.push(JSON.parse(data)),
      close: () => undefined,
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
      deliver(frame: object) {
        this.onmessage?.({ data: JSON.stringify(frame) });
      },
    };
    return socket;
  }

  it('joins again after a join refused for now, and after a gap, with since and the epoch', async () => {
    const socket = fakeSocket();
    const session = new ChatSession({ connect: () => socket, name: 'n', initialBackoffMs: 10, maxBackoffMs: 20, random: () => 0.5 });
    const room = 'r'.repeat(64); // as long as a room may be: the ref must still fit
    session.join(room);
    socket.deliver({ type: 'hello', instance: 'i', connection: 'c', protocol: 1 });
    const first = socket.sent.at(-1)!;
    assert.equal(first.type, 'join');
    assert.ok(parseClientFrame(JSON.stringify(first), limits).ok, 'a valid frame');
    socket.deliver({ type: 'error', code: 'unavailable', message: 'later', ref: first.ref });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(socket.sent.length, 2, 'the refused join is sent again');
    socket.deliver({ type: 'joined', room, members: 1, recovered: true, epoch: '17' });
    socket.deliver({ type: 'message', room, id: '5-0', name: 'x', text: 't', ts: 1, origin: 'i' });
    socket.deliver({ type: 'gap', room });
    assert.deepEqual(socket.sent.at(-1), { type: 'join', room, name: 'n', since: '5-0', epoch: '17', ref: first.ref });
    session.close();
  });
});
