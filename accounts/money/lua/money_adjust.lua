-- Change one account's balance and append the ledger entry in the same
-- script, so the ledger always sums to the balance (package accounts, money.go).
-- KEYS[1] account hash, KEYS[2] its ledger stream
-- ARGV[1] amount (signed integer, minor units), ARGV[2] kind, ARGV[3] ref,
-- ARGV[4] actor, ARGV[5] time (unix ms)
-- A debit may take a prepaid balance down to 0 and a postpaid one down to
-- -credit_limit, no further, and never into the credit the account extends
-- to its sub-accounts (credit_reserved: the sum of their credit limits);
-- a credit is always accepted.
-- Returns {"ok", balance, entry id, currency}, {"insufficient", balance,
-- currency, credit limit, reserved}, {"overflow"} (balance above 2^52) or {"notfound"}
-- (also for a deleted account). Balances are capped below 2^53, so Lua's
-- doubles are exact.
local f = redis.call('HMGET', KEYS[1], 'status', 'balance', 'currency', 'billing', 'credit_limit', 'credit_reserved')
if not f[1] or f[1] == 'deleted' then return {'notfound'} end
local bal = tonumber(f[2] or '0')
local amount = tonumber(ARGV[1])
local limit = 0
if f[4] == 'postpaid' then limit = tonumber(f[5]) or 0 end
local reserved = tonumber(f[6]) or 0
if amount < 0 and bal + amount < reserved - limit then return {'insufficient', bal, f[3] or '', limit, reserved} end
if bal + amount > 4503599627370496 then return {'overflow'} end
local nb = redis.call('HINCRBY', KEYS[1], 'balance', amount)
local id = redis.call('XADD', KEYS[2], '*', 'amount', ARGV[1], 'balance', string.format('%d', nb),
  'kind', ARGV[2], 'ref', ARGV[3], 'actor', ARGV[4], 'at', ARGV[5])
return {'ok', nb, id, f[3] or ''}
