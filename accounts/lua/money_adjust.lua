-- Change one account's balance and append the ledger entry in the same
-- script, so the ledger always sums to the balance (package accounts, money.go).
-- KEYS[1] account hash, KEYS[2] its ledger stream
-- ARGV[1] amount (signed integer, minor units), ARGV[2] kind, ARGV[3] ref,
-- ARGV[4] actor, ARGV[5] time (unix ms)
-- Returns {"ok", balance, entry id, currency}, {"insufficient", balance,
-- currency}, {"overflow"} (balance above 2^52) or {"notfound"}. Balances are
-- capped below 2^53, so Lua's doubles are exact.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
local f = redis.call('HMGET', KEYS[1], 'balance', 'currency')
local bal = tonumber(f[1] or '0')
local amount = tonumber(ARGV[1])
if bal + amount < 0 then return {'insufficient', bal, f[2] or ''} end
if bal + amount > 4503599627370496 then return {'overflow'} end
local nb = redis.call('HINCRBY', KEYS[1], 'balance', amount)
local id = redis.call('XADD', KEYS[2], '*', 'amount', ARGV[1], 'balance', string.format('%d', nb),
  'kind', ARGV[2], 'ref', ARGV[3], 'actor', ARGV[4], 'at', ARGV[5])
return {'ok', nb, id, f[2] or ''}
