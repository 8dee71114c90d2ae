// What travels on a room's channel. A message is published once, as the
// finished frame every recipient gets, behind a one-line header:
//   M<id>\t<origin instance>\t<sender connection>\t<ref as JSON or empty>\n<frame>
// Receivers read the id and forward the frame untouched; only the sender's own
// instance looks further, to give the sender its copy with `ref`.
// A presence change is P<members>:<users>:<version> (connections, the distinct
// users behind them, and the headcount's version). From instances of older
// versions: P<members>:<users> (version 0) and a bare P<members> (each
// connection its own user). Those older instances drop the three-part form, so
// their members' counts stand still until they are replaced in a rollout.

import type { Headcount } from './types.js';

export interface Delivery {
  id: string;
  frame: string;
  /** Set only on the instance the sender is connected to. */
  senderConnection?: string;
  ref?: string;
}

export type BusEvent = { kind: 'message'; delivery: Delivery } | ({ kind: 'presence' } & Headcount);

/** The header part that follows the id; the id itself is only known inside Redis. */
export function headerTail(instance: string, connection: string, ref: string | undefined): string {
  return `\t${instance}\t${connection}\t${ref === undefined ? '' : JSON.stringify(ref)}\n`;
}

export function presencePayload(headcount: Headcount): string {
  return `P${headcount.members}:${headcount.users}:${headcount.version}`;
}

const PRESENCE = /^P(\d{1,15})(?::(\d{1,15})(?::(\d{1,16}))?)?$/;

export class PayloadDecoder {
  private readonly localMarker: string;

  constructor(instance: string) {
    this.localMarker = `\t${instance}\t`;
  }

  decode(payload: string): BusEvent | undefined {
    const kind = payload.charCodeAt(0);
    if (kind === 0x50 /* P */) {
      const match = PRESENCE.exec(payload);
      if (!match) return undefined;
      const members = Number(match[1]);
      return { kind: 'presence', members, users: match[2] === undefined ? members : Number(match[2]), version: Number(match[3] ?? 0) };
    }
    if (kind !== 0x4d /* M */) return undefined;
    const idEnd = payload.indexOf('\t');
    const headerEnd = payload.indexOf('\n', idEnd);
    if (idEnd < 0 || headerEnd < 0) return undefined;
    const delivery: Delivery = { id: payload.slice(1, idEnd), frame: payload.slice(headerEnd + 1) };
    if (payload.startsWith(this.localMarker, idEnd)) {
      const connStart = idEnd + this.localMarker.length;
      const connEnd = payload.indexOf('\t', connStart);
      delivery.senderConnection = payload.slice(connStart, connEnd);
      if (connEnd + 1 < headerEnd) delivery.ref = JSON.parse(payload.slice(connEnd + 1, headerEnd)) as string;
    }
    return { kind: 'message', delivery };
  }
}
