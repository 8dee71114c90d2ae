// Presence in Redis. Per room, a hash of instance -> its local count of
// connections, written only when that count changes; whoever changes it
// publishes a new total on the room's channel. Liveness is per instance, not
// per room: one sorted set of instance -> last heartbeat (Redis' clock), one
// heartbeat per instance every PRESENCE_REFRESH_MS whatever its number of
// rooms, and a set per instance of the rooms it counts in. The first instance
// whose heartbeat finds another one silent for PRESENCE_TTL_MS (killed with
// -9, cut off) claims it and removes its counts from each of its rooms, so no
// ghost members stay, and idle Redis work does not grow with the rooms.
// An instance counts under "<instance id>#<incarnation>". One that finds its
// own heartbeat lapsed (it stalled, or lost Redis, for PRESENCE_TTL_MS) may be
// claimed at any moment, and its counts removed at any moment after: it
// writes its counts again under a new incarnation, which that removal does
// not touch.
// With AUTH_MODE=jwt a second hash per room holds "<instance>\n<user>" for the
// users behind each instance's connections, written with its count, so the
// headcount published is <members>:<distinct users>. Each new headcount gets
// a larger version: Redis' clock in microseconds, or one more than the last
// when the clock has not moved past it. The clock keeps versions growing after
// a room was empty (its key deleted) or Redis lost the key.
import { BusUnavailableError, type Headcount, type PresenceManager } from '../bus/types.js';
import type { RedisCommandPort } from '../bus/redis.js';
import { instanceKeys, keys } from '../bus/keys.js';
import { PRESENCE_TTL_MS } from '../constants.js';

/**
 * KEYS[1] presence hash, KEYS[2] last published headcount, KEYS[3] users hash
 * ARGV[1] instance, ARGV[2] its local count, ARGV[3] channel, ARGV[4..] its users (AUTH_MODE=jwt)
 * Replaces the instance's count and users. Returns {members, distinct users,
 * version} across instances; a room whose users are not known (no users hash)
 * counts each connection as its own user. KEYS[2] holds
 * "<members>:<users>:<version>" of the last headcount published.
 */
export const UPDATE_PRESENCE = `
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local total = 0
for _, count in ipairs(redis.call('HVALS', KEYS[1])) do total = total + (tonumber(count) or 0) end
local prefix = ARGV[1] .. '\\n'
local mine = {}
for i = 4, #ARGV do mine[ARGV[i]] = true end
local seen = {}
local distinct = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
  if string.sub(field, 1, #prefix) == prefix then
    if not mine[string.sub(field, #prefix + 1)] then redis.call('HDEL', KEYS[3], field) end
  else
    local user = string.sub(field, (string.find(field, '\\n', 1, true) or 0) + 1)
    if not seen[user] then
      seen[user] = true
      distinct = distinct + 1
    end
  end
end
for i = 4, #ARGV do
  redis.call('HSET', KEYS[3], prefix .. ARGV[i], 1)
  if not seen[ARGV[i]] then
    seen[ARGV[i]] = true
    distinct = distinct + 1
  end
end
local users = total
if distinct > 0 then users = distinct end
local headcount = total .. ':' .. users
local previous = redis.call('GET', KEYS[2])
local version = 0
local before = false
if previous then
  local count, last = string.match(previous, '^(%d+:%d+):?(%d*)$')
  before = count
  version = tonumber(last) or 0
end
if before ~= headcount and not (before == false and total == 0) then
  local time = redis.call('TIME')
  version = math.max(tonumber(time[1]) * 1000000 + tonumber(time[2]), version + 1)
  local versioned = headcount .. ':' .. string.format('%.0f', version)
  if total > 0 then redis.call('SET', KEYS[2], versioned) else redis.call('DEL', KEYS[2]) end
  redis.call('PUBLISH', ARGV[3], 'P' .. versioned)
end
return {total, users, version}
`;

/**
 * KEYS[1] instances sorted set
 * ARGV[1] instance incarnation, ARGV[2] ttl ms, ARGV[3] 1 for the incarnation's first heartbeat
 * Records the heartbeat. Returns { 1 when the incarnation (past its first
 * heartbeat) was missing or past its ttl: it is not renewed, as its counts may
 * be removed; instances silent for longer than the ttl }.
 */
export const HEARTBEAT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cutoff = now - tonumber(ARGV[2])
if ARGV[3] ~= '1' then
  local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not last or tonumber(last) < cutoff then return {1, {}} end
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
return {0, redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)}
`;

/**
 * KEYS[1] instances sorted set
 * ARGV[1] the silent instance, ARGV[2] ttl ms
 * Returns 1 to the one caller that removes it (still silent), else 0.
 */
export const CLAIM_DEAD = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
if last and tonumber(last) < now - tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

export class RedisPresence implements PresenceManager {
  /** Each time this instance's heartbeat lapsed, it counts under a new name. */
  private incarnation = 0;
  /** The incarnation's first heartbeat finds no entry; that is not a sign its counts were removed. */
  private beaten = false;
  /**
   * The first heartbeat, which every write waits for (made again after a
   * failure). One promise for all: writes then go out in the order they were
   * made. With a heartbeat each, a write made once another's had come back
   * went out before an older one still waiting, whose smaller count then
   * overwrote it (an instance counted 1 of its 2 members in a room).
   */
  private registered: Promise<unknown> | undefined;

  constructor(private readonly port: RedisCommandPort, private readonly instanceId: string) {}

  /** The name this instance counts under in presence hashes, the instances set and its rooms set. */
  private get member(): string {
    return `${this.instanceId}#${this.incarnation}`;
  }

  async update(room: string, localCount: number, localUsers: readonly string[] = []): Promise<Headcount> {
    // Listed among the instances before its first count, so that a kill -9 before its first heartbeat is still reaped.
    this.registered ??= this.heartbeat(() => []).catch((error: unknown) => {
      this.registered = undefined;
      throw error;
    });
    await this.registered;
    const commands = this.port.commands();
    try {
      const member = this.member;
      const rooms = instanceKeys.rooms(member);
      // Not awaited apart: both go out in the same write.
      const membership = localCount > 0 ? commands.sadd(rooms, room) : commands.srem(rooms, room);
      const [headcount] = await Promise.all([this.write(room, member, localCount, localUsers), membership]);
      return headcount;
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
  }

  private async write(room: string, instance: string, count: number, users: readonly string[] = []): Promise<Headcount> {
    const commands = this.port.commands();
    const [members, distinct, version] = await commands.chatPresence(keys.presence(room), keys.presenceTotal(room), keys.presenceUsers(room), instance, count, keys.channel(room), ...users);
    return { members, users: distinct, version };
  }

  async heartbeat(rooms: () => Iterable<string>): Promise<Iterable<string>> {
    const commands = this.port.commands();
    const beat = () => commands.chatHeartbeat(instanceKeys.all, this.member, PRESENCE_TTL_MS, this.beaten ? 0 : 1);
    let [lapsed, silent] = await beat();
    this.beaten = true;
    if (lapsed === 1) {
      // Taken for dead, or about to be: a new incarnation, which the rooms are
      // written again under. The old one is reaped as silent, here or by
      // another instance, whichever claims it; and here, after any write of
      // it still on its way (this connection keeps their order), its counts
      // are removed from the rooms it is in, lest such a write land after
      // that reaping and stay for ever.
      const old = this.member;
      this.incarnation++;
      this.beaten = false;
      [, silent] = await beat();
      this.beaten = true;
      for (const room of rooms()) await this.write(room, old, 0);
      await commands.del(instanceKeys.rooms(old));
    }
    for (const instance of silent) {
      if (instance === this.member) continue;
      if ((await commands.chatClaimDead(instanceKeys.all, instance, PRESENCE_TTL_MS)) !== 1) continue;
      const roomsOfDead = instanceKeys.rooms(instance);
      for (const room of await commands.smembers(roomsOfDead)) await this.write(room, instance, 0);
      await commands.del(roomsOfDead);
    }
    return lapsed === 1 ? rooms() : [];
  }
}
