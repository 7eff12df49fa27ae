-- Reads the next entry of a queue with priority lanes, highest lane first, without
-- blocking. KEYS the lanes' streams, highest first; ARGV[1] the consumer group, ARGV[2]
-- the consumer. Returns {stream, entries} as XREADGROUP does for one stream, or false
-- when every lane is empty.
for i = 1, #KEYS do
  local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1,
    'STREAMS', KEYS[i], '>')
  if reply and #reply > 0 and #reply[1][2] > 0 then
    return reply[1]
  end
end
return false
