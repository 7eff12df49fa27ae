-- How many messages of a queue wait to be delivered: the stream's entries not yet read
-- by the consumer group (read ones are pending until acked, then deleted) plus the
-- delayed ones. KEYS[1] the stream, KEYS[2] the sorted set of delayed ids; ARGV[1] the
-- consumer group. A stream nobody reads through the group (a dead-letter queue) has no
-- pending entries.
local waiting = redis.call('XLEN', KEYS[1])
local pending = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if type(pending) == 'table' and type(pending[1]) == 'number' then
  waiting = waiting - pending[1]
end
if waiting < 0 then waiting = 0 end
return waiting + redis.call('ZCARD', KEYS[2])
