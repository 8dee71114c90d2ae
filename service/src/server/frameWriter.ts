// Writes WebSocket text frames that were framed once, to many sockets.
//
// `ws.send(text)` converts and frames the payload again for every recipient.
// A room broadcast instead builds the frame bytes (header + UTF-8 payload)
// once and writes the same Buffer to each member's socket, corked for the rest
// of the event-loop turn (see cork.ts), so messages that arrive in one poll
// cost each recipient one syscall. This is safe because the server never
// compresses (perMessageDeflate is off), so ws has no partly written frame of
// its own in between.
import type { Socket } from 'node:net';
import { holdWrites } from '../cork.js';

/** An unmasked, unfragmented text frame (server-to-client frames are never masked). */
export function encodeTextFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN + opcode 1 (text)
  if (headerLength === 2) {
    frame[1] = length;
  } else if (headerLength === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(payload, headerLength, 'utf8');
  return frame;
}

/** Writes a framed message; returns the bytes still waiting to be sent on that socket. */
export function writeFrame(socket: Socket, frame: Buffer): number {
  holdWrites(socket);
  socket.write(frame);
  return socket.writableLength;
}
