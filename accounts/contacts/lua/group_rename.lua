-- group_rename.lua: rename a group, keeping names unique in the account
-- (package accounts, groups.go).
-- KEYS[1] the account's group names hash, KEYS[2] the group's hash
-- ARGV[1] account id, ARGV[2] new normalised name, ARGV[3] new name
-- Returns {'ok'} | {'nf'} | {'taken', other group id}.
if redis.call('HGET', KEYS[2], 'account_id') ~= ARGV[1] then return {'nf'} end
local id = redis.call('HGET', KEYS[2], 'id')
local old = redis.call('HGET', KEYS[2], 'norm')
if ARGV[2] ~= old then
  local other = redis.call('HGET', KEYS[1], ARGV[2])
  if other and other ~= id then return {'taken', other} end
  redis.call('HDEL', KEYS[1], old)
  redis.call('HSET', KEYS[1], ARGV[2], id)
end
redis.call('HSET', KEYS[2], 'name', ARGV[3], 'norm', ARGV[2])
return {'ok'}
