-- Moves the delayed messages of a queue that are due into its streams, atomically.
-- KEYS[1] the queue's stream, KEYS[2] the sorted set of delayed message ids (score: due
-- time in ms); ARGV[1] now (ms), ARGV[2] the queue's highest priority (0: one stream),
-- ARGV[3] its top lane. A message of priority p goes to lane floor(min(p, max) * top / max),
-- the stream `KEYS[1]` for lane 0 and `KEYS[1]:priority:LANE` above. Each delayed message
-- is a hash `KEYS[2]:ID` holding the entry's fields. Returns the due time of the next
-- delayed message, or -1 when none is left.
local max = tonumber(ARGV[2])
local top = tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  local hash = KEYS[2] .. ':' .. id
  local fields = redis.call('HGETALL', hash)
  if #fields > 0 then
    local stream = KEYS[1]
    if max > 0 then
      local priority = 0
      for i = 1, #fields, 2 do
        if fields[i] == 'priority' then priority = tonumber(fields[i + 1]) or 0 end
      end
      local lane = math.floor(math.min(priority, max) * top / max)
      if lane > 0 then stream = KEYS[1] .. ':priority:' .. lane end
    end
    redis.call('XADD', stream, '*', unpack(fields))
  end
  redis.call('DEL', hash)
  redis.call('ZREM', KEYS[2], id)
end
local next = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #next == 0 then return -1 end
return tonumber(next[2])
