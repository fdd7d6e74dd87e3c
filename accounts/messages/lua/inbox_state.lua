-- Change the inbox state of one reply (package accounts, inbox_state.go).
-- KEYS[1] the reply hash.
-- ARGV[1] now (Unix ms); ARGV[2] read, ARGV[3] archived: "1" set (keeping an
-- earlier time), "0" clear, "" leave as it is.
-- Returns the reply hash as a flat list, or nil when there is no such reply
-- (nothing is created).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local function apply(field, v)
  if v == '1' then
    redis.call('HSETNX', KEYS[1], field, ARGV[1])
  elseif v == '0' then
    redis.call('HDEL', KEYS[1], field)
  end
end
apply('read_at', ARGV[2])
apply('archived_at', ARGV[3])
return redis.call('HGETALL', KEYS[1])
