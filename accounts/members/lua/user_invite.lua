-- Store a new invitation unless its email is already a member or has a
-- pending invitation to the account (package accounts, invitations.go).
-- KEYS[1] invitation hash, KEYS[2] pending invitations (zset: id -> expiry),
-- KEYS[3] pending by email (hash: email -> "<id> <expiry ms>"), KEYS[4] members hash
-- ARGV[1] invitation id, ARGV[2] email, ARGV[3] the email's user id ('' if none),
-- ARGV[4] now (unix ms), ARGV[5] expiry (unix ms), ARGV[6] how long the record is kept (ms),
-- ARGV[7..] field/value pairs of the invitation
-- Returns {'ok'}, {'member'} or {'pending', invitation id}.
local now = tonumber(ARGV[4])
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[4], ARGV[3]) == 1 then return {'member'} end
-- Drop what has expired, so that the indexes stay the size of what is pending.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local byEmail = redis.call('HGETALL', KEYS[3])
for i = 1, #byEmail, 2 do
  local id, exp = string.match(byEmail[i + 1], '^(%S+) (%d+)$')
  if not id or tonumber(exp) <= now then
    redis.call('HDEL', KEYS[3], byEmail[i])
  elseif byEmail[i] == ARGV[2] then
    return {'pending', id}
  end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1] .. ' ' .. ARGV[5])
return {'ok'}
