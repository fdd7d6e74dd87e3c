-- promote.lua: move due retries back onto the dispatch queue.
-- KEYS: 1 retry zset, 2 queue stream. ARGV: 1 now (unix ms), 2 max.
-- Returns the number of messages requeued.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('XADD', KEYS[2], '*', 'm', id)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
