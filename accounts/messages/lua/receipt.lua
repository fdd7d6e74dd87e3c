-- receipt.lua: apply one part's delivery receipt to a message.
-- KEYS: 1 message hash, 2 set of parts already reported delivered,
--       3 statistics hash of the message's creation day (KEYS[1] when the
--         message has no account).
-- ARGV: 1 status, 2 error code, 3 at (unix ms), 4 part (canonical smsc id),
--       5 the message's account id and 6 its created_at, as the caller read
--       them to build KEYS[3] ('' when absent).
-- A message is delivered once every part is; a failure of any part is final
-- and is never overwritten. Duplicate receipts of a part count once.
-- When the message reaches its final status, that status is counted in the
-- statistics of the message's creation day (see stats.go): fields
-- s:<status> and s:<status>:<sender> of P:{sN}:stats:<account>:<day>, day =
-- floor(created_at / 86400000). Both never change once the message exists;
-- a message whose fields differ from ARGV 5 and 6 is an error (nothing is
-- written).
-- Returns the message hash (HGETALL), empty when it does not exist.
-- One HMGET reads all the script needs; a single-part message (the common
-- case) needs no set of delivered parts.
local f = redis.call('HMGET', KEYS[1], 'status', 'parts', 'account_id', 'sender', 'created_at')
local st = f[1]
if not st then return {} end
if (f[3] or '') ~= ARGV[5] or (f[5] or '') ~= ARGV[6] then
  return redis.error_reply('ERR receipt: message account or creation time differ from the keys given')
end
local function count(status)
  if not f[3] then return end
  redis.call('HINCRBY', KEYS[3], 's:' .. status .. ':' .. (f[4] or ''), 1)
end
local open = st == 'queued' or st == 'submitted'
local parts = tonumber(f[2]) or 1
if ARGV[1] == 'delivered' then
  if parts <= 1 then
    if open then
      redis.call('HSET', KEYS[1], 'status', 'delivered', 'done_at', ARGV[3], 'delivered_parts', 1)
      count('delivered')
    end
  elseif redis.call('SADD', KEYS[2], ARGV[4]) == 1 then
    redis.call('PEXPIRE', KEYS[2], 604800000)
    local d = redis.call('HINCRBY', KEYS[1], 'delivered_parts', 1)
    if open and d >= parts then
      redis.call('HSET', KEYS[1], 'status', 'delivered', 'done_at', ARGV[3])
      count('delivered')
    end
  end
elseif open and (ARGV[1] == 'undeliverable' or ARGV[1] == 'expired'
    or ARGV[1] == 'rejected' or ARGV[1] == 'failed') then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'error', ARGV[2], 'done_at', ARGV[3])
  count(ARGV[1])
end
return redis.call('HGETALL', KEYS[1])
