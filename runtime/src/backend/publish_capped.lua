-- Adds an entry to one of a queue's streams unless the queue holds its max_length of ready
-- entries over all its streams (entries not yet read through the consumer group; read ones
-- are pending until acked, then deleted). KEYS the queue's streams (one per priority lane);
-- ARGV[1] max_length; ARGV[2] the consumer group; ARGV[3] the index in KEYS of the stream
-- to add to; ARGV[4..] the entry's field/value pairs. Returns the entry id, or false when
-- the queue is full.
local ready = 0
for i = 1, #KEYS do
  local waiting = redis.call('XLEN', KEYS[i])
  local pending = redis.pcall('XPENDING', KEYS[i], ARGV[2])
  if type(pending) == 'table' and type(pending[1]) == 'number' then
    waiting = waiting - pending[1]
  end
  if waiting > 0 then ready = ready + waiting end
end
if ready >= tonumber(ARGV[1]) then
  return false
end
return redis.call('XADD', KEYS[tonumber(ARGV[3])], '*', unpack(ARGV, 4))
