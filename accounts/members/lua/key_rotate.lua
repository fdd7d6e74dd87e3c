-- key_rotate.lua: set an API key's hash only if the key still belongs to the
-- account.
-- KEYS[1] the key's hash; ARGV[1] account id, ARGV[2] the new hash.
-- Returns 1, or 0 when the key is another account's or gone.
if redis.call('HGET', KEYS[1], 'account_id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'hash', ARGV[2])
return 1
