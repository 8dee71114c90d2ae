// Redis names of a room. Every key and channel of one room carries the room in
// a hash tag, so all of them land in one slot and the layout already fits
// Redis Cluster (and Lua scripts may touch them together).

const PREFIX = 'chat:{';

export const keys = {
  history: (room: string) => `chat:{${room}}:history`,
  /** Hash: the room's epoch and the newest id trimmed away in it (see history/redisStream). */
  meta: (room: string) => `chat:{${room}}:history:meta`,
  /** A send already stored: connection and ref -> its id, for a while (see SEND_DEDUPE_TTL_MS). */
  sent: (room: string, sender: string, ref: string) => `chat:{${room}}:sent:${sender}:${ref}`,
  presence: (room: string) => `chat:{${room}}:presence`,
  presenceTotal: (room: string) => `chat:{${room}}:presence:total`,
  presenceUsers: (room: string) => `chat:{${room}}:presence:users`,
  channel: (room: string) => `chat:{${room}}:live`,
};

/** Keys of the instances rather than of a room (see presence/redisPresence). */
export const instanceKeys = {
  /** Sorted set: instance -> its last presence heartbeat (ms, Redis' clock). */
  all: 'chat:instances',
  /** Set: the rooms an instance counts members in (its own hash slot). */
  rooms: (instance: string) => `chat:instance:{${instance}}:rooms`,
};

const CHANNEL_SUFFIX = '}:live';

/** The room of a channel made by keys.channel, or undefined for anything else. */
export function roomOfChannel(channel: string): string | undefined {
  if (!channel.startsWith(PREFIX) || !channel.endsWith(CHANNEL_SUFFIX)) return undefined;
  return channel.slice(PREFIX.length, -CHANNEL_SUFFIX.length);
}
