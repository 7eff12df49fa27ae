-- Moves the delayed messages of a queue that are due into its streams, atomically.
-- KEYS[1] the sorted set of delayed message ids (score: due time in ms), KEYS[2..] the
-- queue's streams, lane 0 first (one stream without priority lanes); ARGV[1] now (ms),
-- ARGV[2] the queue's highest priority (0: one stream). A message of priority p goes to
-- lane floor(min(p, max) * top / max), top being the highest lane. Each delayed message is
-- a hash `KEYS[1]:ID` holding the entry's fields; on a cluster it carries the queue's hash
-- tag like every key here, so it is in the same slot. Returns the due time of the next delayed
-- message, or -1 when none is left.
local max = tonumber(ARGV[2])
local top = #KEYS - 2
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  local hash = KEYS[1] .. ':' .. id
  local fields = redis.call('HGETALL', hash)
  if #fields > 0 then
    local lane = 0
    if max > 0 and top > 0 then
      local priority = 0
      for i = 1, #fields, 2 do
        if fields[i] == 'priority' then priority = tonumber(fields[i + 1]) or 0 end
      end
      lane = math.floor(math.min(priority, max) * top / max)
    end
    redis.call('XADD', KEYS[2 + lane], '*', unpack(fields))
  end
  redis.call('DEL', hash)
  redis.call('ZREM', KEYS[1], id)
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #next == 0 then return -1 end
return tonumber(next[2])
