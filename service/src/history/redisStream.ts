// Room history in Redis Streams: one stream per room, capped at the history
// limit. Appending and publishing happen in one script, so a message is either
// stored and published or neither, and the published frame carries its id.

/**
 * KEYS[1] history stream, KEYS[2] id of the newest trimmed entry
 * ARGV[1] channel, ARGV[2] max length, ARGV[3] frame prefix, ARGV[4] frame suffix, ARGV[5] header tail
 * The stream keeps only the suffix; the prefix is the same for every message of a room.
 * Trimming is done here rather than by XADD MAXLEN because Redis does not
 * record what MAXLEN trims, and a reader with an old `since` must be told.
 */
export const APPEND_AND_PUBLISH = `
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
 * Returns { newest trimmed id, flat list of id, suffix, id, suffix ... } oldest first.
 */
export const READ_HISTORY = `
local trimmed = redis.call('GET', KEYS[2]) or '0-0'
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
return {trimmed, flat}
`;
