-- group_delete.lua: delete a group, its membership and its sharing
-- (package accounts, groups.go).
-- KEYS[1] the account's group names hash, KEYS[2] the group's hash,
--         KEYS[3] its members set, then KEYS[3 + i] the groups set of the
--         i-th member of ARGV, then one shared groups set per sub-account the
--         group is shared with, in the order of ARGV[4].
-- ARGV[1] account id, ARGV[2] group id, ARGV[3] the group's 'shared' field
--         as the caller read it (comma-separated sub-account ids), then the
--         members as the caller read KEYS[3].
-- Returns {'ok'} | {'nf'} | {'retry'} (the members or the sharing are not
--         what the caller read: nothing is written).
if redis.call('HGET', KEYS[2], 'account_id') ~= ARGV[1] then return {'nf'} end
local members = redis.call('SMEMBERS', KEYS[3])
local m = #ARGV - 3
if #members ~= m then return {'retry'} end
local at = {}
for i = 4, #ARGV do at[ARGV[i]] = KEYS[i] end
for _, c in ipairs(members) do
  if not at[c] then return {'retry'} end
end
local shared = redis.call('HGET', KEYS[2], 'shared') or ''
if shared ~= ARGV[3] then return {'retry'} end
for _, c in ipairs(members) do
  redis.call('SREM', at[c], ARGV[2])
end
local k = 3 + m
for _ in string.gmatch(shared, '[^,]+') do
  k = k + 1
  redis.call('SREM', KEYS[k], ARGV[2])
end
local norm = redis.call('HGET', KEYS[2], 'norm')
if redis.call('HGET', KEYS[1], norm) == ARGV[2] then redis.call('HDEL', KEYS[1], norm) end
redis.call('DEL', KEYS[2], KEYS[3])
return {'ok'}
