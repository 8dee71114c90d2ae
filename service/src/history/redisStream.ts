// Room history in Redis Streams: one stream per room, capped at the history
// limit. Appending and publishing happen in one script, so a message is either
// stored and published or neither, and the published frame carries its id.
import { BusUnavailableError, type HistoryQuery, type HistoryRead, type HistoryReader } from '../bus/types.js';
import type { RedisCommandPort } from '../bus/redis.js';
import { keys } from '../bus/keys.js';
import { messagePrefix } from '../protocol/encode.js';
import { compareIds } from '../protocol/ids.js';

/** What the append script answers when it ran too late to be confirmed. */
export const EXPIRED = 'EXPIRED';

/**
 * KEYS[1] history stream, KEYS[2] id of the newest trimmed entry
 * ARGV[1] channel, ARGV[2] max length, ARGV[3] frame prefix, ARGV[4] frame suffix, ARGV[5] header tail,
 * ARGV[6] deadline in Redis' clock (ms), 0 for none
 * The stream keeps only the suffix; the prefix is the same for every message of a room.
 * Trimming is done here rather than by XADD MAXLEN because Redis does not
 * record what MAXLEN trims, and a reader with an old `since` must be told.
 * The deadline is earlier than the moment the instance gives up waiting for
 * the answer: a script that a frozen or overloaded Redis runs after it stores
 * nothing, so a sender told `unavailable` was not stored.
 */
export const APPEND_AND_PUBLISH = `
local deadline = tonumber(ARGV[6])
if deadline > 0 then
  local now = redis.call('TIME')
  if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > deadline then
    return redis.error_reply('${EXPIRED} the append ran after its deadline; nothing was stored')
  end
end
local id = redis.call('XADD', KEYS[1], '*', 's', ARGV[4])
local over = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
if over > 0 then
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', over)
  redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[2])
  redis.call('SET', KEYS[2], oldest[#oldest][1])
end
redis.call('PUBLISH', ARGV[1], 'M' .. id .. ARGV[5] .. ARGV[3] .. id .. ARGV[4])
return id
`;

/**
 * KEYS[1] history stream, KEYS[2] id of the newest trimmed entry
 * ARGV[1] 'since' or 'last', ARGV[2] the id or the count, ARGV[3] most entries to return
 * Returns { newest trimmed id, newest id kept ('0-0' if none), flat list of id, suffix, id, suffix ... } oldest first.
 */
export const READ_HISTORY = `
local trimmed = redis.call('GET', KEYS[2]) or '0-0'
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local head = '0-0'
if #newest > 0 then head = newest[1][1] end
local entries
if ARGV[1] == 'since' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', ARGV[3])
else
  entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[2])
end
local flat = {}
local first, last, step = 1, #entries, 1
if ARGV[1] ~= 'since' then first, last, step = #entries, 1, -1 end
for i = first, last, step do
  local fields = entries[i][2]
  for j = 1, #fields, 2 do
    if fields[j] == 's' then
      flat[#flat + 1] = entries[i][1]
      flat[#flat + 1] = fields[j + 1]
    end
  end
end
return {trimmed, head, flat}
`;

export class RedisHistory implements HistoryReader {
  constructor(private readonly port: RedisCommandPort, private readonly historyLimit: number) {}

  async read(room: string, query: HistoryQuery): Promise<HistoryRead> {
    const commands = this.port.commands();
    const isSince = 'since' in query;
    let trimmed: string;
    let head: string;
    let flat: string[];
    try {
      [trimmed, head, flat] = await commands.chatHistory(
        keys.history(room),
        keys.trimmed(room),
        isSince ? 'since' : 'last',
        isSince ? query.since : query.last,
        this.historyLimit,
      );
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
    const prefix = messagePrefix(room);
    const messages = [];
    for (let i = 0; i < flat.length; i += 2) messages.push({ id: flat[i], frame: prefix + flat[i] + flat[i + 1] });
    const recovered = !isSince || compareIds(query.since, trimmed) >= 0;
    return { messages, recovered, head };
  }
}
