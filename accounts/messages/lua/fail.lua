-- fail.lua: fail a message, optionally refund it, acknowledge its queue entry.
-- Idempotent: a message already final is left alone and refunded at most once.
-- KEYS: 1 message hash, 2 account hash, 3 ledger stream, 4 queue stream.
-- ARGV: 1 stream id ('' for none), 2 reason, 3 now (unix ms), 4 refund '1'/'0'.
-- The failure is counted in the statistics of the message's creation day
-- (fields s:failed and s:failed:<sender> of P:{sN}:stats:<account>:<day>, see
-- stats.go and receipt.lua); a refund takes its price back out of the day's
-- cost (c and c:<sender>). The key is built from KEYS[1] (P:{sN}:msg:<id>).
-- Returns the message hash (HGETALL), empty when it does not exist.
if ARGV[1] ~= '' then
  redis.call('XACK', KEYS[4], 'dispatch', ARGV[1])
  redis.call('XDEL', KEYS[4], ARGV[1])
end
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {} end
if st == 'queued' or st == 'submitted' then
  redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[2], 'done_at', ARGV[3])
  local f = redis.call('HMGET', KEYS[1], 'account_id', 'sender', 'created_at')
  local base = string.match(KEYS[1], '^(.*:)msg:[^:]*$')
  local skey, sender = nil, f[2] or ''
  if base and f[1] then
    local day = math.floor((tonumber(f[3]) or 0) / 86400000)
    skey = base .. 'stats:' .. f[1] .. ':' .. string.format('%d', day)
    redis.call('HINCRBY', skey, 's:failed:' .. sender, 1)
  end
  if ARGV[4] == '1' and not redis.call('HGET', KEYS[1], 'refunded') then
    local price = tonumber(redis.call('HGET', KEYS[1], 'price')) or 0
    -- A deleted account's balance went back to its parent (lifecycle.go,
    -- same hash tag): so does a refund that comes after the deletion.
    local akey, lkey = KEYS[2], KEYS[3]
    local ap = redis.call('HMGET', akey, 'status', 'parent_id')
    if ap[1] == 'deleted' and ap[2] and ap[2] ~= '' then
      akey = string.match(akey, '^(.*:acct:)') .. ap[2]
      lkey = string.match(lkey, '^(.*:ledger:)') .. ap[2]
    end
    if price > 0 and redis.call('EXISTS', akey) == 1 then
      local bal = redis.call('HINCRBY', akey, 'balance', price)
      redis.call('XADD', lkey, '*', 'amount', price, 'balance', bal, 'kind', 'refund',
        'ref', redis.call('HGET', KEYS[1], 'id'), 'actor', 'system', 'at', ARGV[3])
      redis.call('HSET', KEYS[1], 'refunded', price)
      if skey then
        redis.call('HINCRBY', skey, 'c:' .. sender, 0 - price)
      end
    end
  end
end
return redis.call('HGETALL', KEYS[1])
