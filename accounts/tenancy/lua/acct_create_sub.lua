-- Create a sub-account under an active root account, atomically with the
-- parent check (package accounts, account.go).
-- KEYS[1] parent account hash, KEYS[2] new account hash, KEYS[3] parent's subs set
-- ARGV    field/value pairs of the new account (must include "id")
-- A postpaid sub-account's credit limit is held on the parent
-- (credit_reserved, acct_update.lua): the parent must have it available.
-- Returns "ok", "notfound", "nested", "deactivated" or
-- {"credit", parent available} when the parent cannot back the credit limit.
local p = redis.call('HMGET', KEYS[1], 'id', 'parent_id', 'status', 'balance', 'billing', 'credit_limit', 'credit_reserved')
if not p[1] then return 'notfound' end
if p[2] and p[2] ~= '' then return 'nested' end
if p[3] ~= 'active' then return 'deactivated' end
local id, billing, limit
for i = 1, #ARGV, 2 do
  if ARGV[i] == 'id' then id = ARGV[i + 1]
  elseif ARGV[i] == 'billing' then billing = ARGV[i + 1]
  elseif ARGV[i] == 'credit_limit' then limit = tonumber(ARGV[i + 1]) or 0 end
end
if billing == 'postpaid' and limit and limit > 0 then
  local plimit = 0
  if p[5] == 'postpaid' then plimit = tonumber(p[6]) or 0 end
  local avail = (tonumber(p[4]) or 0) + plimit - (tonumber(p[7]) or 0)
  if avail < limit then return {'credit', avail} end
  redis.call('HINCRBY', KEYS[1], 'credit_reserved', limit)
end
redis.call('HSET', KEYS[2], unpack(ARGV))
redis.call('SADD', KEYS[3], id)
return 'ok'
