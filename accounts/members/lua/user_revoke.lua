-- Revoke a pending invitation of an account (package accounts, invitations.go).
-- KEYS[1] invitation hash, KEYS[2] pending invitations (zset), KEYS[3] pending by email (hash)
-- ARGV[1] invitation id, ARGV[2] account id, ARGV[3] now (unix ms),
-- ARGV[4] how long the revoked record is kept (ms)
-- Returns 'ok', 'notfound', 'used' or 'revoked'.
local inv = redis.call('HMGET', KEYS[1], 'account_id', 'status', 'email')
if not inv[1] or inv[1] ~= ARGV[2] then return 'notfound' end
if inv[2] == 'accepted' then return 'used' end
if inv[2] == 'revoked' then return 'revoked' end
redis.call('HSET', KEYS[1], 'status', 'revoked', 'revoked_at', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
local p = redis.call('HGET', KEYS[3], inv[3])
if p and string.sub(p, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then redis.call('HDEL', KEYS[3], inv[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 'ok'
