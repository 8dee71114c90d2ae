// One chat member: connects, joins its room, waits until presence shows the
// whole room, sends its messages at the set rate, and checks that it receives
// every message of the room exactly once and in order.
import { check } from 'k6';
import { setInterval, clearInterval, setTimeout, clearTimeout } from 'k6/timers';
import { WebSocket } from 'k6/websockets';
import { joinFrame, sendFrame } from '../../service/dist/protocol/frames.js';
import { RoomLog } from '../../service/dist/protocol/roomLog.js';
import * as metrics from './metrics.js';

/** Message text: "<member>:<seq>:<send time ms>". */
function parseText(text) {
  const [member, seq, sentAt] = text.split(':');
  return { member, seq: Number(seq), sentAt: Number(sentAt) };
}

export function runMember({ target, params, room, name, shape, expectDistinctUsers = false }) {
  const { roomSize, messages, rate, fillTimeoutMs, settleMs } = shape;
  const expected = roomSize * messages;
  const log = new RoomLog();
  const nextSeq = new Map(); // per sender: the seq expected next
  const openedAt = Date.now();
  let instance;
  let members = 0;
  let sending = false;
  let sentCount = 0;
  let sender;
  let closing;
  let finished = false;
  let crossed = false;
  let usersJudged = false;

  const ws = new WebSocket(target, null, params);

  const finish = () => {
    if (finished) return; // the socket's close and the settle timer may both get here
    finished = true;
    clearInterval(sender);
    clearTimeout(fillTimer);
    clearTimeout(closing);
    metrics.crossInstanceMembers.add(crossed);
    const got = log.received - log.outOfOrder;
    if (got < expected) metrics.missing.add(expected - got);
    check(got, { 'received every message of its room': (n) => n === expected });
    ws.close();
  };

  // Once its own messages are out, a member judges its room when the room has
  // been quiet for settleMs: members that started late (their room looked
  // incomplete until the fill timeout) are still sending, and leaving before
  // them would count their messages as lost. With the whole room in, at once.
  const judgeWhenQuiet = () => {
    clearTimeout(closing);
    closing = setTimeout(finish, log.received === expected ? 0 : settleMs);
  };

  // The first presence of its full room: with one user per VU, `users` equals `members`.
  const judgeUsers = (frame) => {
    if (!expectDistinctUsers || usersJudged || frame.members < roomSize) return;
    usersJudged = true;
    metrics.distinctUsers.add(frame.users === frame.members);
    check(frame, { 'presence counts each member as its own user': (f) => f.users === f.members });
  };

  const startSending = () => {
    if (sending) return;
    sending = true;
    sender = setInterval(() => {
      if (sentCount === messages) {
        clearInterval(sender);
        judgeWhenQuiet();
        return;
      }
      ws.send(sendFrame(room, `${name}:${sentCount}:${Date.now()}`, `${name}-${sentCount}`));
      sentCount++;
      metrics.sent.add(1);
    }, 1000 / rate);
  };

  const fillTimer = setTimeout(() => {
    check(members, { 'room filled before sending': (n) => n >= roomSize });
    startSending();
  }, fillTimeoutMs);

  ws.onopen = () => metrics.connectTime.add(Date.now() - openedAt);
  // A socket the server (or a proxy) closes before the member has judged its
  // room fails the member at once and counts what it never got; left alone,
  // its timers would send on a closed socket, which throws and ends the VU
  // before it counts anything.
  ws.onclose = () => {
    if (finished) return;
    check(null, { 'socket stayed open until the member finished': () => false });
    finish();
  };
  ws.onerror = (event) => {
    // Errors of the closing handshake, once every message is judged, change nothing.
    if (finished) return;
    console.warn(`socket error before the member finished: ${event.error ?? event.message ?? 'unknown'}`);
    check(event, { 'no socket error': () => false });
  };
  ws.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    switch (frame.type) {
      case 'hello':
        instance = frame.instance;
        check(frame, {
          'hello names the instance': (f) => typeof f.instance === 'string' && f.instance.length > 0 && f.protocol === 1,
          [`connected to ${frame.instance}`]: () => true,
        });
        ws.send(joinFrame(room, name));
        break;
      case 'joined':
        check(frame, { 'joined its room': (f) => f.room === room && f.recovered === true });
        members = frame.members;
        judgeUsers(frame);
        if (members >= roomSize) startSending();
        break;
      case 'presence':
        members = frame.members;
        judgeUsers(frame);
        if (members >= roomSize) startSending();
        break;
      case 'message': {
        const arrival = log.accept(frame.id);
        if (arrival === 'duplicate') return metrics.duplicated.add(1);
        if (arrival === 'out_of_order') return metrics.outOfOrder.add(1);
        const text = parseText(frame.text);
        const want = nextSeq.get(text.member) ?? 0;
        if (text.seq !== want) metrics.outOfOrder.add(1);
        nextSeq.set(text.member, text.seq + 1);
        metrics.received.add(1);
        metrics.deliveryLatency.add(Date.now() - text.sentAt);
        if (frame.origin !== instance) {
          metrics.crossInstance.add(1);
          crossed = true;
        }
        if (text.member === name) check(frame, { 'own copy carries its ref': (f) => f.ref === `${name}-${text.seq}` });
        if (sentCount === messages) judgeWhenQuiet();
        break;
      }
      case 'error':
        metrics.serverErrors.add(1, { code: frame.code });
        check(frame, { 'no error frame': () => false });
        break;
      default:
        break;
    }
  };
}
