-- Create a sub-account under an active root account, atomically with the
-- parent check (package accounts, account.go).
-- KEYS[1] parent account hash, KEYS[2] new account hash, KEYS[3] parent's subs set
-- ARGV    field/value pairs of the new account (must include "id")
-- Returns "ok", "notfound", "nested" or "deactivated".
local p = redis.call('HMGET', KEYS[1], 'id', 'parent_id', 'status')
if not p[1] then return 'notfound' end
if p[2] and p[2] ~= '' then return 'nested' end
if p[3] ~= 'active' then return 'deactivated' end
redis.call('HSET', KEYS[2], unpack(ARGV))
local id
for i = 1, #ARGV, 2 do
  if ARGV[i] == 'id' then id = ARGV[i + 1] end
end
redis.call('SADD', KEYS[3], id)
return 'ok'
