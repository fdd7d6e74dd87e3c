-- group_create.lua: create a group whose name is unique in its account
-- (package accounts, groups.go).
-- KEYS[1] the account's group names hash (normalised name -> group id),
--         KEYS[2] the new group's hash
-- ARGV[1] normalised name, ARGV[2] group id, ARGV[3] name, ARGV[4] account
--         id, ARGV[5] now (unix ms), ARGV[6] the account's groups quota
-- Returns {'ok'} | {'taken', existing group id} | {'quota', groups}.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then return {'taken', cur} end
local have = redis.call('HLEN', KEYS[1])
if have >= tonumber(ARGV[6]) then return {'quota', tostring(have)} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], 'id', ARGV[2], 'account_id', ARGV[4], 'name', ARGV[3],
  'norm', ARGV[1], 'created_at', ARGV[5], 'shared', '')
return {'ok'}
