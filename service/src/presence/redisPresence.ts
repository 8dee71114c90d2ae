// Presence in Redis: per room, a hash of instance -> "<local count>:<expiry ms>",
// and with AUTH_MODE=jwt a hash of "<instance>\n<user>" -> expiry ms for the
// users behind those connections. Each instance refreshes its own entries;
// entries that were not refreshed expire, so an instance killed with -9 leaves
// no ghost members behind. Whoever notices a change of the headcount (members
// and distinct users) publishes it on the room's channel.
import { BusUnavailableError, type Headcount, type PresenceManager } from '../bus/types.js';
import type { RedisCommandPort } from '../bus/redis.js';
import { keys } from '../bus/keys.js';
import { PRESENCE_TTL_MS } from '../constants.js';

/**
 * KEYS[1] presence hash, KEYS[2] last published headcount, KEYS[3] users hash
 * ARGV[1] instance, ARGV[2] its local count, ARGV[3] entry ttl ms, ARGV[4] channel,
 * ARGV[5] '1' when users are known (then ARGV[6..] are this instance's users), '0' when not
 * Returns {members, distinct users} across live instances. Uses the server
 * clock, so instances' clocks need not agree.
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
local users = total
if ARGV[5] == '1' then
  local prefix = ARGV[1] .. '\\n'
  local mine = {}
  for i = 6, #ARGV do mine[ARGV[i]] = true end
  local seen = {}
  users = 0
  local fields = redis.call('HGETALL', KEYS[3])
  for i = 1, #fields, 2 do
    local field = fields[i]
    if string.sub(field, 1, #prefix) == prefix then
      -- this instance's entry: rewritten below, or gone with its last connection
      if not mine[string.sub(field, #prefix + 1)] then redis.call('HDEL', KEYS[3], field) end
    elseif (tonumber(fields[i + 1]) or 0) < now then
      redis.call('HDEL', KEYS[3], field)
    else
      local user = string.sub(field, (string.find(field, '\\n', 1, true) or 0) + 1)
      if not seen[user] then
        seen[user] = true
        users = users + 1
      end
    end
  end
  for i = 6, #ARGV do
    redis.call('HSET', KEYS[3], prefix .. ARGV[i], now + ttl)
    if not seen[ARGV[i]] then
      seen[ARGV[i]] = true
      users = users + 1
    end
  end
  if users > 0 then redis.call('PEXPIRE', KEYS[3], ttl * 4) end
end
local headcount = total .. ':' .. users
local previous = redis.call('GET', KEYS[2])
if previous ~= headcount then
  redis.call('SET', KEYS[2], headcount, 'PX', ttl * 4)
  redis.call('PUBLISH', ARGV[4], 'P' .. headcount)
else
  redis.call('PEXPIRE', KEYS[2], ttl * 4)
end
if total > 0 then redis.call('PEXPIRE', KEYS[1], ttl * 4) end
return {total, users}
`;

export class RedisPresence implements PresenceManager {
  constructor(private readonly port: RedisCommandPort, private readonly instanceId: string) {}

  async update(room: string, localCount: number, localUsers?: readonly string[]): Promise<Headcount> {
    const commands = this.port.commands();
    try {
      const [members, users] = await commands.chatPresence(
        keys.presence(room),
        keys.presenceTotal(room),
        keys.presenceUsers(room),
        this.instanceId,
        localCount,
        PRESENCE_TTL_MS,
        keys.channel(room),
        localUsers === undefined ? '0' : '1',
        ...(localUsers ?? []),
      );
      return { members, users };
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
  }
}
