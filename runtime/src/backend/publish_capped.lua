-- Adds an entry to a queue's stream unless the queue holds its max_length of ready entries
-- (entries not yet read through the consumer group; read ones are pending until acked, then
-- deleted). KEYS[1] the stream; ARGV[1] max_length; ARGV[2] the consumer group; ARGV[3..]
-- the entry's field/value pairs. Returns the entry id, or false when the queue is full.
local ready = redis.call('XLEN', KEYS[1])
local pending = redis.pcall('XPENDING', KEYS[1], ARGV[2])
if type(pending) == 'table' and type(pending[1]) == 'number' then
  ready = ready - pending[1]
end
if ready >= tonumber(ARGV[1]) then
  return false
end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
