-- Close (delete) a sub-account: return its balance to the parent with both
-- ledger entries, mark it deleted and move it from the parent's sub-account
-- set to its set of deleted sub-accounts, atomically (package accounts,
-- lifecycle.go). A debt (negative postpaid balance) is settled by the parent
-- if the parent stays above its own floor.
-- KEYS[1] account hash, KEYS[2] parent hash, KEYS[3] account ledger,
-- KEYS[4] parent ledger, KEYS[5] parent's subs set, KEYS[6] parent's deleted-subs set
-- ARGV[1] now (unix ms), ARGV[2] actor, ARGV[3] account id, ARGV[4] parent id
-- Returns {"ok", amount returned (negative: debt settled)}, {"notfound"},
-- {"insufficient", parent balance, currency, parent credit limit, debt,
-- parent's credit_reserved after the release}.
local a = redis.call('HMGET', KEYS[1], 'id', 'parent_id', 'status', 'balance', 'currency', 'billing', 'credit_limit')
if not a[1] or a[3] == 'deleted' or a[2] ~= ARGV[4] then return {'notfound'} end
local p = redis.call('HMGET', KEYS[2], 'id', 'balance', 'billing', 'credit_limit', 'credit_reserved')
if not p[1] then return {'notfound'} end
local bal = tonumber(a[4]) or 0
-- The credit the parent extended to this account (its credit limit) is
-- released; the parent settles a debt from what it then has.
local held = 0
if a[6] == 'postpaid' then held = tonumber(a[7]) or 0 end
local reserved = (tonumber(p[5]) or 0) - held
if reserved < 0 then reserved = 0 end
if bal < 0 then
  local limit = 0
  if p[3] == 'postpaid' then limit = tonumber(p[4]) or 0 end
  local pbal = tonumber(p[2]) or 0
  if pbal + bal < reserved - limit then return {'insufficient', pbal, a[5] or '', limit, 0 - bal, reserved} end
end
if held > 0 then redis.call('HSET', KEYS[2], 'credit_reserved', reserved) end
if bal ~= 0 then
  local nb = redis.call('HINCRBY', KEYS[1], 'balance', 0 - bal)
  redis.call('XADD', KEYS[3], '*', 'amount', 0 - bal, 'balance', nb, 'kind', 'close_out',
    'ref', 'account deleted', 'actor', ARGV[2], 'at', ARGV[1], 'peer', ARGV[4])
  local pb = redis.call('HINCRBY', KEYS[2], 'balance', bal)
  redis.call('XADD', KEYS[4], '*', 'amount', bal, 'balance', pb, 'kind', 'close_in',
    'ref', ARGV[3], 'actor', ARGV[2], 'at', ARGV[1], 'peer', ARGV[3])
end
redis.call('HSET', KEYS[1], 'status', 'deleted', 'deleted_at', ARGV[1])
redis.call('SREM', KEYS[5], ARGV[3])
redis.call('SADD', KEYS[6], ARGV[3])
return {'ok', bal}
