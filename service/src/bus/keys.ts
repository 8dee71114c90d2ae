// Redis names of a room. Every key and channel of one room carries the room in
// a hash tag, so all of them land in one slot and the layout already fits
// Redis Cluster (and Lua scripts may touch them together).

const PREFIX = 'chat:{';

export const keys = {
  history: (room: string) => `chat:{${room}}:history`,
  trimmed: (room: string) => `chat:{${room}}:history:trimmed`,
  presence: (room: string) => `chat:{${room}}:presence`,
  presenceTotal: (room: string) => `chat:{${room}}:presence:total`,
  presenceUsers: (room: string) => `chat:{${room}}:presence:users`,
  channel: (room: string) => `chat:{${room}}:live`,
};

const CHANNEL_SUFFIX = '}:live';

/** The room of a channel made by keys.channel, or undefined for anything else. */
export function roomOfChannel(channel: string): string | undefined {
  if (!channel.startsWith(PREFIX) || !channel.endsWith(CHANNEL_SUFFIX)) return undefined;
  return channel.slice(PREFIX.length, -CHANNEL_SUFFIX.length);
}
