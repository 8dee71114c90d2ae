// Presence in Redis: per room, a hash of instance -> "<local count>:<expiry ms>".
// Each instance refreshes its own entry; entries that were not refreshed expire,
// so an instance killed with -9 leaves no ghost members behind. Whoever notices
// a change of the total publishes it on the room's channel.
import { BusUnavailableError, type PresenceManager } from '../bus/types.js';
import type { RedisCommandPort } from '../bus/redis.js';
import { keys } from '../bus/keys.js';
import { PRESENCE_TTL_MS } from '../constants.js';

/**
 * KEYS[1] presence hash, KEYS[2] last published total
 * ARGV[1] instance, ARGV[2] its local count, ARGV[3] entry ttl ms, ARGV[4] channel
 * Returns the total across live instances. Uses the server clock, so instances'
 * clocks need not agree.
 */
export const UPDATE_PRESENCE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[3])
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + ttl))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local all = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #all, 2 do
  local count, expiry = string.match(all[i + 1], '^(%d+):(%d+)$')
  if count == nil or tonumber(expiry) < now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    total = total + tonumber(count)
  end
end
local previous = redis.call('GET', KEYS[2])
if previous ~= tostring(total) then
  redis.call('SET', KEYS[2], total, 'PX', ttl * 4)
  redis.call('PUBLISH', ARGV[4], 'P' .. total)
else
  redis.call('PEXPIRE', KEYS[2], ttl * 4)
end
if total > 0 then redis.call('PEXPIRE', KEYS[1], ttl * 4) end
return total
`;

export class RedisPresence implements PresenceManager {
  constructor(private readonly port: RedisCommandPort, private readonly instanceId: string) {}

  async update(room: string, localCount: number): Promise<number> {
    const commands = this.port.commands();
    try {
      return await commands.chatPresence(keys.presence(room), keys.presenceTotal(room), this.instanceId, localCount, PRESENCE_TTL_MS, keys.channel(room));
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
  }
}
