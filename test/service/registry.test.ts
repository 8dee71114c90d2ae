// The join/replay merge of the room registry, with the timing that is rare
// against a real Redis forced here: a message is already in the history the
// joiner reads, while its pub/sub copy reaches this instance only after the
// join completed. (The real-Redis tests cover the same paths end to end.)
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { RoomRegistry, type Member } from '../../service/src/rooms/registry.js';
import { Metrics } from '../../service/src/metrics.js';
import type { Broker, BrokerHandlers, HistoryRead, HistoryReader, PresenceManager } from '../../service/src/bus/types.js';
import { messagePrefix } from '../../service/src/protocol/encode.js';

const frame = (id: string) => `${messagePrefix('r')}${id}","name":"n","text":"${id}","ts":1,"origin":"o"}`;

/** A bus whose history answer the test sets; live events are injected with onEvent. */
class ScriptedBus implements Broker, HistoryReader, PresenceManager {
  readonly ready = true;
  readonly notReadyReason = undefined;
  stored: string[] = [];
  async start(_handlers: BrokerHandlers) {}
  async subscribe() {}
  async unsubscribe() {}
  async publish(): Promise<string> {
    throw new Error('not used');
  }
  async read(): Promise<HistoryRead> {
    return { messages: this.stored.map((id) => ({ id, frame: frame(id) })), recovered: true, head: this.stored.at(-1) ?? '0-0' };
  }
  async update(_room: string, count: number) {
    return { members: count, users: count };
  }
  async close() {}
}

function member(id: string): Member & { got: string[]; joinedMembers: number[] } {
  const got: string[] = [];
  const joinedMembers: number[] = [];
  return {
    id,
    open: true,
    got,
    joinedMembers,
    writeFrame: (buffer: Buffer) => got.push(JSON.parse(buffer.subarray(2).toString()).id),
    sendText: (text: string) => {
      const parsed = JSON.parse(text);
      if (parsed.type === 'message') got.push(parsed.id);
      if (parsed.type === 'joined') joinedMembers.push(parsed.members);
    },
  };
}

function setup() {
  const broker = new ScriptedBus();
  const logger = pino({ level: 'silent' });
  const metrics = new Metrics('t', { connections: () => 0, rooms: () => 0, busReady: () => true, draining: () => false });
  const registry = new RoomRegistry({ bus: { broker, history: broker, presence: broker }, joinHistory: 50, logger, metrics });
  const deliver = (id: string) => registry.onEvent('r', { kind: 'message', delivery: { id, frame: frame(id) } });
  return { broker, registry, deliver };
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

it('tells a joiner of a presence change that arrived while it was reading history', async () => {
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
  // Meanwhile nine others joined elsewhere: the presence script publishes the new total.
  registry.onEvent('r', { kind: 'presence', members: 10, users: 10 });
  release();
  await joining;
  assert.deepEqual(joiner.joinedMembers, [10], 'joined carries the newer total, not the one its own write returned');
  registry.close();
});
