-- promote.lua: move the entries of a retry zset whose time has come onto a
-- stream: the message dispatch queue (field 'm') and the webhook delivery
-- stream (field 'd') retry the same way.
-- KEYS: 1 retry zset (id -> due unix ms), 2 stream.
-- ARGV: 1 now (unix ms), 2 max, 3 the stream entry's field name.
-- Returns the number of entries moved.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('XADD', KEYS[2], '*', ARGV[3], id)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
