-- fail.lua: fail a message, optionally refund it, acknowledge its queue entry.
-- Idempotent: a message already final is left alone and refunded at most once.
-- KEYS: 1 message hash, 2 account hash, 3 ledger stream, 4 queue stream,
--       5 statistics hash of the message's creation day (KEYS[1] when the
--         message has no account), 6 the account's parent's hash and 7 its
--         ledger stream (KEYS[2] and KEYS[3] for a top-level account).
-- ARGV: 1 stream id ('' for none), 2 reason, 3 now (unix ms), 4 refund '1'/'0',
--       5 the message's account id and 6 its created_at, 7 the account's
--       parent id ('' for none), as the caller read them to build KEYS,
--       8 '1' to count the failed submit in the message's attempts, 9 the
--       message's id.
-- The failure is counted in the statistics of the message's creation day
-- (fields s:failed and s:failed:<sender> of P:{sN}:stats:<account>:<day>, see
-- stats.go and receipt.lua); a refund takes its price back out of the day's
-- cost (c and c:<sender>). The account, creation time and parent never change
-- once the message exists: fields that differ from ARGV 5 to 7 are an error,
-- raised before anything is written.
-- Returns the message hash (HGETALL), empty when it does not exist.
local f = redis.call('HMGET', KEYS[1], 'status', 'account_id', 'sender', 'created_at')
local ap = {}
if f[1] and ARGV[4] == '1' then ap = redis.call('HMGET', KEYS[2], 'status', 'parent_id') end
if f[1] and ((f[2] or '') ~= ARGV[5] or (f[4] or '') ~= ARGV[6]
    or (ap[1] == 'deleted' and (ap[2] or '') ~= ARGV[7])) then
  return redis.error_reply('ERR fail: message account, creation time or parent differ from the keys given')
end
if ARGV[1] ~= '' then
  redis.call('XACK', KEYS[4], 'dispatch', ARGV[1])
  redis.call('XDEL', KEYS[4], ARGV[1])
end
local st = f[1]
if not st then return {} end
if st == 'queued' or st == 'submitted' then
  redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[2], 'done_at', ARGV[3])
  if ARGV[8] == '1' then redis.call('HINCRBY', KEYS[1], 'attempts', 1) end
  local counted, sender = f[2] ~= nil, f[3] or ''
  if counted then
    redis.call('HINCRBY', KEYS[5], 's:failed:' .. sender, 1)
  end
  if ARGV[4] == '1' and not redis.call('HGET', KEYS[1], 'refunded') then
    local price = tonumber(redis.call('HGET', KEYS[1], 'price')) or 0
    -- A deleted account's balance went back to its parent (lifecycle.go,
    -- same hash tag): so does a refund that comes after the deletion.
    local akey, lkey = KEYS[2], KEYS[3]
    if ap[1] == 'deleted' and ap[2] and ap[2] ~= '' then
      akey, lkey = KEYS[6], KEYS[7]
    end
    if price > 0 and redis.call('EXISTS', akey) == 1 then
      local bal = redis.call('HINCRBY', akey, 'balance', price)
      redis.call('XADD', lkey, '*', 'amount', price, 'balance', bal, 'kind', 'refund',
        'ref', ARGV[9], 'actor', 'system', 'at', ARGV[3])
      redis.call('HSET', KEYS[1], 'refunded', price)
      if counted then
        redis.call('HINCRBY', KEYS[5], 'c:' .. sender, 0 - price)
      end
    end
  end
end
return redis.call('HGETALL', KEYS[1])
