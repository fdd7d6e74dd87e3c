-- Update fields of an existing account only (package accounts, account.go).
-- KEYS[1] account hash; ARGV field/value pairs.
-- Returns the whole hash after the update, or an empty array if the account
-- does not exist.
-- A deleted account (lifecycle.go) counts as absent: it cannot be reactivated.
local st = redis.call('HGET', KEYS[1], 'status')
if not st or st == 'deleted' then return {} end
redis.call('HSET', KEYS[1], unpack(ARGV))
return redis.call('HGETALL', KEYS[1])
