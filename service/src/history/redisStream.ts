// Room history in Redis Streams: one stream per room, capped at the history
// limit. Appending and publishing happen in one script, so a message is either
// stored and published or neither, and the published frame carries its id.

/**
 * KEYS[1] history stream
 * ARGV[1] channel, ARGV[2] max length, ARGV[3] frame prefix, ARGV[4] frame suffix, ARGV[5] header tail
 * The stream keeps only the suffix; the prefix is the same for every message of a room.
 */
export const APPEND_AND_PUBLISH = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], '*', 's', ARGV[4])
redis.call('PUBLISH', ARGV[1], 'M' .. id .. ARGV[5] .. ARGV[3] .. id .. ARGV[4])
return id
`;

/**
 * KEYS[1] history stream
 * ARGV[1] 'since' or 'last', ARGV[2] the id or the count, ARGV[3] most entries to return
 * Returns { max deleted id, flat list of id, suffix, id, suffix ... } oldest first.
 * The max deleted id (Redis 7+) tells whether anything after \`since\` was trimmed.
 */
export const READ_HISTORY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'0-0', {}} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local deleted = '0-0'
for i = 1, #info, 2 do
  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
end
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
return {deleted, flat}
`;
