-- Update fields of an existing account only (package accounts, account.go).
-- KEYS[1] account hash, KEYS[2] its parent's hash (KEYS[1] again for a root)
-- ARGV field/value pairs.
-- The credit limit of a postpaid sub-account is credit its parent extends:
-- the parent holds it (credit_reserved: the sum of its sub-accounts'
-- limits, which is not available to the parent itself). Raising a limit
-- needs that much available on the parent (balance + its own credit limit
-- - what it already holds); lowering one, or switching to prepaid, is
-- refused while the account would then be below its floor (it owes more
-- than the new limit, or its sub-accounts hold more than it would have).
-- So the credit in a tree never exceeds what the operator granted its root.
-- Returns the whole hash after the update; an empty array if the account
-- does not exist; {'!owes', balance, reserved, new limit} or
-- {'!parent', parent available, wanted} (numbers as strings) when the
-- credit limit is refused.
-- A deleted account (lifecycle.go) counts as absent: it cannot be reactivated.
local cur = redis.call('HMGET', KEYS[1], 'status', 'parent_id', 'billing', 'credit_limit', 'balance', 'credit_reserved')
if not cur[1] or cur[1] == 'deleted' then return {} end
local nb, ncl = cur[3], cur[4]
for i = 1, #ARGV, 2 do
  if ARGV[i] == 'billing' then nb = ARGV[i + 1] elseif ARGV[i] == 'credit_limit' then ncl = ARGV[i + 1] end
end
local function credit(billing, limit)
  if billing == 'postpaid' then return tonumber(limit) or 0 end
  return 0
end
local old, new = credit(cur[3], cur[4]), credit(nb, ncl)
if new ~= old then
  local bal, held = tonumber(cur[5]) or 0, tonumber(cur[6]) or 0
  if new < old and bal + new - held < 0 then return {'!owes', string.format('%d', bal), string.format('%d', held), string.format('%d', new)} end
  local sub = cur[2] and cur[2] ~= ''
  if sub and new > old then
    local p = redis.call('HMGET', KEYS[2], 'id', 'balance', 'billing', 'credit_limit', 'credit_reserved')
    if p[1] ~= cur[2] then return redis.error_reply('acct_update: KEYS[2] is not the parent of KEYS[1]') end
    local avail = (tonumber(p[2]) or 0) + credit(p[3], p[4]) - (tonumber(p[5]) or 0)
    if avail < new - old then return {'!parent', string.format('%d', avail), string.format('%d', new - old)} end
  end
  if sub then
    -- Never below zero: a limit set before parents held their subs' credit
    -- (an upgraded deployment) releases nothing it did not hold.
    if redis.call('HINCRBY', KEYS[2], 'credit_reserved', new - old) < 0 then
      redis.call('HSET', KEYS[2], 'credit_reserved', 0)
    end
  end
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return redis.call('HGETALL', KEYS[1])
