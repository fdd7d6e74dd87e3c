-- fail.lua: fail a message, optionally refund it, acknowledge its queue entry.
-- Idempotent: a message already final is left alone and refunded at most once.
-- KEYS: 1 message hash, 2 account hash, 3 ledger stream, 4 queue stream.
-- ARGV: 1 stream id ('' for none), 2 reason, 3 now (unix ms), 4 refund '1'/'0'.
-- Returns the message hash (HGETALL), empty when it does not exist.
if ARGV[1] ~= '' then
  redis.call('XACK', KEYS[4], 'dispatch', ARGV[1])
  redis.call('XDEL', KEYS[4], ARGV[1])
end
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {} end
if st == 'queued' or st == 'submitted' then
  redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[2], 'done_at', ARGV[3])
  if ARGV[4] == '1' and not redis.call('HGET', KEYS[1], 'refunded') then
    local price = tonumber(redis.call('HGET', KEYS[1], 'price')) or 0
    if price > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
      local bal = redis.call('HINCRBY', KEYS[2], 'balance', price)
      redis.call('XADD', KEYS[3], '*', 'amount', price, 'balance', bal, 'kind', 'refund',
        'ref', redis.call('HGET', KEYS[1], 'id'), 'actor', 'system', 'at', ARGV[3])
      redis.call('HSET', KEYS[1], 'refunded', price)
    end
  end
end
return redis.call('HGETALL', KEYS[1])
