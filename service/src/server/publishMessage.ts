// One message into a room: stored in its history and fanned out to every
// member. A client's send and the publish API both come through here, so both
// get the same storage, fan-out and frame.
import type { Broker, Published } from '../bus/types.js';
import { headerTail } from '../bus/payload.js';
import { messagePrefix, messageSuffix } from '../protocol/encode.js';

/** Who sent it: a connection (whose copy carries its ref), or nobody on this instance (the publish API). */
export interface Sender {
  connection: string;
  ref: string | undefined;
}

// No connection id is empty (they are base36 counters), so no member mistakes an API message for its own.
const NO_SENDER: Sender = { connection: '', ref: undefined };

export function publishMessage(broker: Broker, instanceId: string, room: string, name: string, text: string, sender: Sender = NO_SENDER): Promise<Published> {
  return broker.publish({
    room,
    framePrefix: messagePrefix(room),
    frameSuffix: messageSuffix(name, text, Date.now(), instanceId),
    headerTail: headerTail(instanceId, sender.connection, sender.ref),
    // A connection that sends the same ref again gets the stored copy rather than a second message.
    dedupeKey: sender.ref === undefined ? undefined : `${sender.connection}:${sender.ref}`,
  });
}
