-- group_share.lua: set, widen or narrow the sub-accounts a root account's
-- group is shared with (seed 001; package accounts, groups.go). Shared by
-- reference: the subs read the group itself, so revoking is immediate.
-- KEYS[1] the group's hash
-- ARGV[1] account id (the group's owner, a root), ARGV[2] group id,
--         ARGV[3] 'set', 'add' or 'rem', ARGV[4] account key prefix
--         (P:{sN}:acct:), ARGV[5] shared groups key prefix
--         (P:{sN}:sharedgroups:), then sub-account ids.
-- Returns {'ok', comma-separated subs} | {'nf'} | {'notsub', id}.
if redis.call('HGET', KEYS[1], 'account_id') ~= ARGV[1] then return {'nf'} end
local cur = {}
for sub in string.gmatch(redis.call('HGET', KEYS[1], 'shared') or '', '[^,]+') do cur[sub] = true end
local given = {}
for i = 6, #ARGV do given[ARGV[i]] = true end
if ARGV[3] ~= 'rem' then
  for sub in pairs(given) do
    local a = redis.call('HMGET', ARGV[4] .. sub, 'parent_id', 'status')
    if a[1] ~= ARGV[1] or a[2] == 'deleted' then return {'notsub', sub} end
  end
end
local want = {}
if ARGV[3] == 'set' then
  want = given
else
  for sub in pairs(cur) do want[sub] = true end
  for sub in pairs(given) do
    if ARGV[3] == 'add' then want[sub] = true else want[sub] = nil end
  end
end
for sub in pairs(cur) do
  if not want[sub] then redis.call('SREM', ARGV[5] .. sub, ARGV[2]) end
end
local list = {}
for sub in pairs(want) do
  redis.call('SADD', ARGV[5] .. sub, ARGV[2])
  list[#list + 1] = sub
end
table.sort(list)
local s = table.concat(list, ',')
redis.call('HSET', KEYS[1], 'shared', s)
return {'ok', s}
