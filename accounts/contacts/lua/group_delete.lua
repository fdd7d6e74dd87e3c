-- group_delete.lua: delete a group, its membership and its sharing
-- (package accounts, groups.go).
-- KEYS[1] the account's group names hash, KEYS[2] the group's hash,
--         KEYS[3] its members set
-- ARGV[1] account id, ARGV[2] group id, ARGV[3] contact groups key prefix
--         (P:{sN}:cgroups:), ARGV[4] shared groups key prefix
--         (P:{sN}:sharedgroups:)
-- Returns {'ok'} | {'nf'}.
if redis.call('HGET', KEYS[2], 'account_id') ~= ARGV[1] then return {'nf'} end
for _, c in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('SREM', ARGV[3] .. c, ARGV[2])
end
local shared = redis.call('HGET', KEYS[2], 'shared') or ''
for sub in string.gmatch(shared, '[^,]+') do
  redis.call('SREM', ARGV[4] .. sub, ARGV[2])
end
local norm = redis.call('HGET', KEYS[2], 'norm')
if redis.call('HGET', KEYS[1], norm) == ARGV[2] then redis.call('HDEL', KEYS[1], norm) end
redis.call('DEL', KEYS[2], KEYS[3])
return {'ok'}
