-- receipt.lua: apply one part's delivery receipt to a message.
-- KEYS: 1 message hash, 2 set of parts already reported delivered.
-- ARGV: 1 status, 2 error code, 3 at (unix ms), 4 part (canonical smsc id).
-- A message is delivered once every part is; a failure of any part is final
-- and is never overwritten. Duplicate receipts of a part count once.
-- When the message reaches its final status, that status is counted in the
-- statistics of the message's creation day (see stats.go): fields
-- s:<status> and s:<status>:<sender> of P:{sN}:stats:<account>:<day>, day =
-- floor(created_at / 86400000). The key is built from KEYS[1]
-- (P:{sN}:msg:<id>), so it shares the message's hash tag and slot.
-- Returns the message hash (HGETALL), empty when it does not exist.
local function count(status)
  local f = redis.call('HMGET', KEYS[1], 'account_id', 'sender', 'created_at')
  local base = string.match(KEYS[1], '^(.*:)msg:[^:]*$')
  if not base or not f[1] then return end
  local day = math.floor((tonumber(f[3]) or 0) / 86400000)
  local key = base .. 'stats:' .. f[1] .. ':' .. string.format('%d', day)
  redis.call('HINCRBY', key, 's:' .. status, 1)
  redis.call('HINCRBY', key, 's:' .. status .. ':' .. (f[2] or ''), 1)
end
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {} end
local open = st == 'queued' or st == 'submitted'
if ARGV[1] == 'delivered' then
  if redis.call('SADD', KEYS[2], ARGV[4]) == 1 then
    redis.call('PEXPIRE', KEYS[2], 604800000)
    local d = redis.call('HINCRBY', KEYS[1], 'delivered_parts', 1)
    local parts = tonumber(redis.call('HGET', KEYS[1], 'parts')) or 1
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
