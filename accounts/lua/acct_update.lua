-- Update fields of an existing account only (package accounts, account.go).
-- KEYS[1] account hash; ARGV field/value pairs.
-- Returns the whole hash after the update, or an empty array if the account
-- does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('HSET', KEYS[1], unpack(ARGV))
return redis.call('HGETALL', KEYS[1])
