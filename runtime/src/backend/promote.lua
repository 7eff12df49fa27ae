-- Moves the delayed messages of a queue that are due into its stream, atomically.
-- KEYS[1] the stream, KEYS[2] the sorted set of delayed message ids (score: due time in
-- ms); ARGV[1] now (ms). Each delayed message is a hash `KEYS[2]:ID` holding the entry's
-- fields. Returns the due time of the next delayed message, or -1 when none is left.
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  local hash = KEYS[2] .. ':' .. id
  local fields = redis.call('HGETALL', hash)
  if #fields > 0 then
    redis.call('XADD', KEYS[1], '*', unpack(fields))
  end
  redis.call('DEL', hash)
  redis.call('ZREM', KEYS[2], id)
end
local next = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #next == 0 then return -1 end
return tonumber(next[2])
