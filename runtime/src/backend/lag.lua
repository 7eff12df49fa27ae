-- How many messages of a queue wait to be delivered: its streams' entries not yet read by
-- the consumer group (read ones are pending until acked, then deleted) plus the delayed
-- ones. KEYS[1..n-1] the queue's streams (one per priority lane), KEYS[n] the sorted set
-- of delayed ids; ARGV[1] the consumer group. A stream nobody reads through the group (a
-- dead-letter queue) has no pending entries.
local waiting = 0
for i = 1, #KEYS - 1 do
  local ready = redis.call('XLEN', KEYS[i])
  local pending = redis.pcall('XPENDING', KEYS[i], ARGV[1])
  if type(pending) == 'table' and type(pending[1]) == 'number' then
    ready = ready - pending[1]
  end
  if ready > 0 then waiting = waiting + ready end
end
return waiting + redis.call('ZCARD', KEYS[#KEYS])
