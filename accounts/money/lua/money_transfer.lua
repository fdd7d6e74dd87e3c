-- Move money between a parent account and one of its sub-accounts (either
-- way) with both ledger entries, atomically (package accounts, money.go).
-- KEYS[1] source hash, KEYS[2] target hash, KEYS[3] source ledger, KEYS[4] target ledger
-- ARGV[1] amount (> 0), ARGV[2] ref, ARGV[3] actor, ARGV[4] time (unix ms),
-- ARGV[5] source kind, ARGV[6] target kind (transfer_out/transfer_in, or
-- topup_out/topup_in when the sub-account pulls credit itself)
-- The source may go down to 0 (prepaid) or -credit_limit (postpaid), less
-- the credit it extends to its sub-accounts (credit_reserved), no further.
-- Returns {"ok", source balance, source entry id, target balance, target entry id, currency},
-- {"insufficient", source balance, currency, credit limit, reserved}, {"notfound", "from"|"to"}
-- (also for a deleted account), {"nottree"}, {"currency"} or {"overflow"}
-- (target balance above 2^52).
local a = redis.call('HMGET', KEYS[1], 'id', 'parent_id', 'balance', 'currency', 'status', 'billing', 'credit_limit', 'credit_reserved')
local b = redis.call('HMGET', KEYS[2], 'id', 'parent_id', 'balance', 'currency', 'status')
if not a[1] or a[5] == 'deleted' then return {'notfound', 'from'} end
if not b[1] or b[5] == 'deleted' then return {'notfound', 'to'} end
if not (a[2] == b[1] or b[2] == a[1]) then return {'nottree'} end
if a[4] ~= b[4] then return {'currency'} end
local amount = tonumber(ARGV[1])
local bal = tonumber(a[3] or '0')
local limit = 0
if a[6] == 'postpaid' then limit = tonumber(a[7]) or 0 end
local reserved = tonumber(a[8]) or 0
if bal - amount < reserved - limit then return {'insufficient', bal, a[4] or '', limit, reserved} end
if tonumber(b[3] or '0') + amount > 4503599627370496 then return {'overflow'} end
local na = redis.call('HINCRBY', KEYS[1], 'balance', -amount)
local nb = redis.call('HINCRBY', KEYS[2], 'balance', amount)
local ia = redis.call('XADD', KEYS[3], '*', 'amount', '-' .. ARGV[1], 'balance', string.format('%d', na),
  'kind', ARGV[5], 'ref', ARGV[2], 'actor', ARGV[3], 'at', ARGV[4], 'peer', b[1])
local ib = redis.call('XADD', KEYS[4], '*', 'amount', ARGV[1], 'balance', string.format('%d', nb),
  'kind', ARGV[6], 'ref', ARGV[2], 'actor', ARGV[3], 'at', ARGV[4], 'peer', a[1])
return {'ok', na, ia, nb, ib, a[4] or ''}
