// The join/replay merge of the room registry, with the timing that is rare
// against a real Redis forced here: a message is already in the history the
// joiner reads, while its pub/sub copy reaches this instance only after the
// join completed. (The real-Redis tests cover the same paths end to end.)
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { RoomRegistry, type Member } from '../../service/src/rooms/registry.js';
import { Metrics } from '../../service/src/metrics.js';
import type { Broker, BrokerHandlers, HistoryRead, HistoryReader, PresenceManager, Published } from '../../service/src/bus/types.js';
import { messagePrefix } from '../../service/src/protocol/encode.js';
import { CATCH_UP_BUFFER_MAX, CATCH_UP_CONCURRENCY } from '../../service/src/constants.js';

const frame = (id: string) => `${messagePrefix('r')}${id}","name":"n","text":"${id}","ts":1,"origin":"o"}`;

/** A bus whose history answer the test sets; live events are injected with onEvent. */
class ScriptedBus implements Broker, HistoryReader, PresenceManager {
  readonly ready = true;
  readonly notReadyReason = undefined;
  stored: string[] = [];
  async start(_handlers: BrokerHandlers) {}
  async subscribe() {}
  async unsubscribe() {}
  async publish(): Promise<Published> {
    throw new Error('not used');
  }
  async read(): Promise<HistoryRead> {
    return { messages: this.stored.map((id) => ({ id, frame: frame(id) })), recovered: true, head: this.stored.at(-1) ?? '0-0', epoch: 'e1' };
  }
  /** The version the next headcount written gets. */
  presenceVersion = 100;
  async update(_room: string, count: number) {
    return { members: count, users: count, version: this.presenceVersion++ };
  }
  async heartbeat() {
    return [];
  }
  async close() {}
}

function member(id: string): Member & { got: string[]; joinedMembers: number[]; gaps: string[] } {
  const got: string[] = [];
  const joinedMembers: number[] = [];
  const gaps: string[] = [];
  return {
    id,
    open: true,
    rooms: new Set<string>(),
    got,
    joinedMembers,
    gaps,
    sendPaced(text: string) {
      this.sendText(text);
      return undefined;
    },
    tooSlow() {},
    writeFrame: (buffer: Buffer) => got.push(JSON.parse(buffer.subarray(2).toString()).id),
    sendText: (text: string) => {
      const parsed = JSON.parse(text);
      if (parsed.type === 'message') got.push(parsed.id);
      if (parsed.type === 'joined') joinedMembers.push(parsed.members);
      if (parsed.type === 'gap') gaps.push(parsed.room);
    },
  };
}

function setup() {
  const broker = new ScriptedBus();
  const logLines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => logLines.push(line) });
  const metrics = new Metrics('t', { connections: () => 0, rooms: () => 0, busReady: () => true, draining: () => false });
  const registry = new RoomRegistry({ bus: { broker, history: broker, presence: broker }, joinHistory: 50, logger, metrics });
  const deliver = (id: string) => registry.onEvent('r', { kind: 'message', delivery: { id, frame: frame(id) } });
  return { broker, registry, deliver, logLines };
}

it('does not deliver twice a message that was in the replay and arrives live after the join', async () => {
  const { broker, registry, deliver } = setup();
  const first = member('a');
  await registry.join(first, 'r', undefined);
  deliver('1-0');
  // The second joiner's history read already holds 2-0 and 3-0; their live copies are still on the way.
  broker.stored = ['1-0', '2-0', '3-0'];
  const second = member('b');
  await registry.join(second, 'r', '0-0');
  deliver('2-0');
  deliver('3-0');
  deliver('4-0');
  assert.deepEqual(first.got, ['1-0', '2-0', '3-0', '4-0']);
  assert.deepEqual(second.got, ['1-0', '2-0', '3-0', '4-0'], 'each id exactly once, in order');
  registry.close();
});

it('replays after an outage once, even when two resumes overlap', async () => {
  const { broker, registry, deliver } = setup();
  const only = member('a');
  await registry.join(only, 'r', undefined);
  deliver('1-0');
  registry.onLost();
  broker.stored = ['1-0', '2-0', '3-0'];
  await Promise.all([registry.onResumed(), registry.onResumed()]);
  deliver('3-0'); // its live copy, late
  deliver('4-0');
  assert.deepEqual(only.got, ['1-0', '2-0', '3-0', '4-0']);
  registry.close();
});

/** The `members` of the joined frame of a member whose history read is answered only after `meanwhile` ran. */
async function joinedDuringSlowRead(meanwhile: (registry: RoomRegistry) => void): Promise<number[]> {
  const { broker, registry } = setup();
  let release!: () => void;
  const slowRead = new Promise<void>((resolve) => (release = resolve));
  const history = broker.read.bind(broker);
  broker.read = async () => {
    await slowRead;
    return history();
  };
  const joiner = member('late');
  const joining = registry.join(joiner, 'r', undefined);
  await new Promise((resolve) => setImmediate(resolve));
  meanwhile(registry);
  release();
  await joining;
  registry.close();
  return joiner.joinedMembers;
}

it('tells a joiner of a presence change that arrived while it was reading history', async () => {
  // Meanwhile nine others joined elsewhere: the presence script publishes the new total (its write was version 100).
  const told = await joinedDuringSlowRead((registry) => registry.onEvent('r', { kind: 'presence', members: 10, users: 10, version: 101 }));
  assert.deepEqual(told, [10], 'joined carries the newer total, not the one its own write returned');
});

it('does not tell a joiner an older headcount that arrived on the channel after its own write was answered', async () => {
  // Published before this instance's write (version 100), heard after its answer.
  const told = await joinedDuringSlowRead((registry) => registry.onEvent('r', { kind: 'presence', members: 7, users: 7, version: 99 }));
  assert.deepEqual(told, [1], 'joined carries its own write, the newer headcount');
});

it('tells members of a gap, and closes the room, when an outage holds more than the catch-up buffer', async () => {
  const { registry, deliver } = setup();
  const only = member('a');
  only.rooms.add('r');
  await registry.join(only, 'r', undefined);
  registry.onLost();
  for (let n = 1; n <= CATCH_UP_BUFFER_MAX + 1; n++) deliver(`${n}-0`);
  assert.deepEqual(only.gaps, ['r'], 'told once');
  assert.equal(only.rooms.has('r'), false, 'out of the room');
  assert.equal(registry.size, 0, 'the room closed instead of holding more');
  assert.deepEqual(only.got, [], 'nothing delivered out of a broken sequence');
  registry.close();
});

it('catches up a few rooms at a time, and logs failures across rooms in aggregate', async () => {
  const { broker, registry, logLines } = setup();
  const rooms = 50;
  for (let i = 0; i < rooms; i++) {
    const m = member(`m${i}`);
    await registry.join(m, `room${i}`, undefined);
    registry.onEvent(`room${i}`, { kind: 'message', delivery: { id: '1-0', frame: frame('1-0') } });
  }
  let running = 0;
  let most = 0;
  broker.read = async () => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
    throw new Error('redis timed out');
  };
  registry.onLost();
  await registry.onResumed();
  assert.ok(most <= CATCH_UP_CONCURRENCY, `at most ${CATCH_UP_CONCURRENCY} reads at once (saw ${most})`);
  await new Promise((resolve) => setTimeout(resolve, 2500)); // two more rounds of retries
  const failures = logLines.filter((line) => line.includes('catch-up failed'));
  assert.equal(failures.length, 1, `one line for ${rooms} rooms failing for seconds (got ${failures.length})`);
  registry.close();
});

it('a room that loses its subscription again while it catches up catches up again once it hears again', async () => {
  const { broker, registry, deliver } = setup();
  const alice = member('a');
  await registry.join(alice, 'r', undefined);
  broker.stored = ['1-0'];
  deliver('1-0');
  // The room's shard fails over: lost, then resubscribed; its catch-up's read is slow.
  registry.onLost(['r']);
  let release!: () => void;
  const slowRead = broker.read.bind(broker);
  broker.read = () => {
    const answer = slowRead(); // what the history holds now, returned later
    return new Promise<HistoryRead>((resolve) => (release = () => void answer.then(resolve)));
  };
  const first = registry.onResumed(['r']);
  // Before that read returns, the slot moves again: the room cannot hear, and 2-0 is
  // published meanwhile (stored, heard by nobody here).
  registry.onLost(['r']);
  broker.stored = ['1-0', '2-0'];
  broker.read = slowRead;
  release();
  await first;
  // Subscribed on the new primary: the room catches up what it missed.
  await registry.onResumed(['r']);
  deliver('3-0');
  assert.deepEqual(alice.got, ['1-0', '2-0', '3-0']);
});
