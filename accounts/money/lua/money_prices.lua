-- Replace an account's price table and record in the account hash whether
-- it has one, so that the accept script reads the table only when there is
-- one (package accounts, prices.go).
-- KEYS[1] account hash, KEYS[2] price table hash
-- ARGV prefix/price pairs (possibly none)
-- Returns 1, or 0 when the account does not exist or is deleted.
local st = redis.call('HGET', KEYS[1], 'status')
if not st or st == 'deleted' then return 0 end
redis.call('DEL', KEYS[2])
-- unpack() has a stack limit: write in chunks.
for i = 1, #ARGV, 1000 do
  redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if #ARGV > 0 then
  redis.call('HSET', KEYS[1], 'prices', '1')
else
  redis.call('HDEL', KEYS[1], 'prices')
end
return 1
