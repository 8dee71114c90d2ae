// Room history in Redis Streams: one stream per room, capped at the history
// limit, and beside it a metadata hash with the room's epoch and the newest id
// trimmed away. Appending and publishing happen in one script, so a message is
// either stored and published or neither, and the published frame carries its
// id.
//
// The epoch names one unbroken history. The append script starts a new one
// whenever the metadata is missing (never written, expired, evicted, lost in a
// failover), so a reader whose `since` belongs to an older epoch, or is no
// longer in the stream, is told `recovered: false`.
import { BusUnavailableError, type HistoryQuery, type HistoryRead, type HistoryReader } from '../bus/types.js';
import type { RedisCommandPort } from '../bus/redis.js';
import { keys } from '../bus/keys.js';
import { messagePrefix } from '../protocol/encode.js';

/** What the append script answers when it ran too late to be confirmed. */
export const EXPIRED = 'EXPIRED';

/**
 * KEYS[1] history stream, KEYS[2] metadata hash, KEYS[3] the send's dedupe key
 * ARGV[1] channel, ARGV[2] max length, ARGV[3] frame prefix, ARGV[4] frame suffix, ARGV[5] header tail,
 * ARGV[6] deadline in Redis' clock (ms), 0 for none, ARGV[7] history ttl ms, 0 for none,
 * ARGV[8] dedupe ttl ms, 0 when the send has no ref (KEYS[3] is then unused)
 * Returns { id, 0 } for a new message, { id, 1, suffix } when this sender's
 * ref was stored already (nothing is stored or published again).
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
local dedupeTtl = tonumber(ARGV[8])
if dedupeTtl > 0 then
  local prior = redis.call('GET', KEYS[3])
  if prior then
    local entry = redis.call('XRANGE', KEYS[1], prior, prior)
    -- Trimmed away since: this repeat's own frame tail stands in (same ref, same sender).
    local suffix = ARGV[4]
    if #entry > 0 then suffix = entry[1][2][2] end
    return {prior, 1, suffix}
  end
end
if redis.call('HEXISTS', KEYS[2], 'epoch') == 0 then
  -- A new epoch. Entries still in the stream stay readable; what came before
  -- them is unknown, so it counts as trimmed.
  local now = redis.call('TIME')
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  local trimmed = '0-0'
  if #first > 0 then trimmed = first[1][1] end
  redis.call('HSET', KEYS[2], 'epoch', now[1] .. string.format('%06d', tonumber(now[2])), 'trimmed', trimmed)
end
local id = redis.call('XADD', KEYS[1], '*', 's', ARGV[4])
local over = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
if over > 0 then
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', over)
  redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[2])
  redis.call('HSET', KEYS[2], 'trimmed', oldest[#oldest][1])
end
local ttl = tonumber(ARGV[7])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
if dedupeTtl > 0 then redis.call('SET', KEYS[3], id, 'PX', dedupeTtl) end
redis.call('PUBLISH', ARGV[1], 'M' .. id .. ARGV[5] .. ARGV[3] .. id .. ARGV[4])
return {id, 0}
`;

/**
 * KEYS[1] history stream, KEYS[2] metadata hash
 * ARGV[1] 'since' or 'last', ARGV[2] the id or the count, ARGV[3] most entries to return,
 * ARGV[4] the epoch the reader's `since` belongs to, '' when it did not say
 * Returns { epoch ('' when none), recovered 1/0, newest id kept ('0-0' if none), flat list of id, suffix, ... } oldest first.
 * A `since` is recovered when the room's history is unbroken from it: it is in
 * the stream, or it is the newest id trimmed, or it is 0-0 and nothing was
 * trimmed; always within the reader's epoch when it names one.
 */
export const READ_HISTORY = `
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'trimmed')
local epoch = meta[1] or ''
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local head = '0-0'
if #newest > 0 then head = newest[1][1] end
local recovered = 1
local entries
if ARGV[1] == 'since' then
  local since = ARGV[2]
  if epoch == '' then
    -- No history, or history without its metadata: only a reader that had nothing is complete.
    if not (since == '0-0' and head == '0-0' and ARGV[4] == '') then recovered = 0 end
  elseif ARGV[4] ~= '' and ARGV[4] ~= epoch then
    recovered = 0
  elseif since ~= meta[2] and #redis.call('XRANGE', KEYS[1], since, since) == 0 then
    recovered = 0
  end
  entries = redis.call('XRANGE', KEYS[1], '(' .. since, '+', 'COUNT', ARGV[3])
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
return {epoch, recovered, head, flat}
`;

export class RedisHistory implements HistoryReader {
  constructor(private readonly port: RedisCommandPort, private readonly historyLimit: number) {}

  async read(room: string, query: HistoryQuery): Promise<HistoryRead> {
    const commands = this.port.commands();
    const isSince = 'since' in query;
    let answer: [string, number, string, string[]];
    try {
      answer = await commands.chatHistory(
        keys.history(room),
        keys.meta(room),
        isSince ? 'since' : 'last',
        isSince ? query.since : query.last,
        this.historyLimit,
        isSince ? (query.epoch ?? '') : '',
      );
    } catch (error) {
      throw new BusUnavailableError((error as Error).message);
    }
    const [epoch, recovered, head, flat] = answer;
    const prefix = messagePrefix(room);
    const messages = [];
    for (let i = 0; i < flat.length; i += 2) messages.push({ id: flat[i], frame: prefix + flat[i] + flat[i + 1] });
    return { messages, recovered: recovered === 1, head, epoch };
  }
}
