// What the bench coordinator and its driver processes say to each other over IPC.
import type { SystemName } from '../clients.js';

/** One client: the URL it connects to and the rooms it joins. */
export interface ClientSpec {
  url: string;
  rooms: string[];
}

export type Request =
  | { op: 'open'; system: SystemName; clients: ClientSpec[]; inFlight: number }
  /** Start counting the texts that begin with `window`, with their latency. */
  | { op: 'window'; window: string }
  /** Send `perSecond` messages (a sender's `client` indexes this driver's clients in the order opened) a second for `seconds`, round robin over the senders, from `offsetMs` after now. */
  | { op: 'send'; window: string; senders: Array<{ client: number; room: string }>; perSecond: number; seconds: number; offsetMs: number }
  | { op: 'count' }
  | { op: 'collect' }
  | { op: 'close' };

export type Reply =
  | { op: 'opened'; first: number }
  | { op: 'ok' }
  | { op: 'sent'; sent: number }
  | { op: 'count'; deliveries: number }
  | { op: 'collected'; deliveries: number; latencies: Float64Array }
  | { op: 'failed'; message: string };

/** The same clock in every process on the machine (CLOCK_MONOTONIC), in ms. */
export const clockMs = () => Number(process.hrtime.bigint()) / 1e6;
