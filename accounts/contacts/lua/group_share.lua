-- group_share.lua: set, widen or narrow the sub-accounts a root account's
-- group is shared with (seed 001; package accounts, groups.go). Shared by
-- reference: the subs read the group itself, so revoking is immediate.
-- KEYS[1] the group's hash, then two keys per sub-account of ARGV:
--         KEYS[2i] its account hash, KEYS[2i + 1] its shared groups set.
-- ARGV[1] account id (the group's owner, a root), ARGV[2] group id,
--         ARGV[3] 'set', 'add' or 'rem', ARGV[4] the group's 'shared' field
--         as the caller read it, ARGV[5] how many of the sub-accounts that
--         follow were given (the rest are those the group is shared with
--         now), then sub-account ids, each once.
-- Returns {'ok', comma-separated subs} | {'nf'} | {'notsub', id}
--       | {'retry'} (the sharing is not what the caller read: nothing is
--         written).
if redis.call('HGET', KEYS[1], 'account_id') ~= ARGV[1] then return {'nf'} end
local shared = redis.call('HGET', KEYS[1], 'shared') or ''
if shared ~= ARGV[4] then return {'retry'} end
local acct, groups = {}, {}
for i = 6, #ARGV do
  acct[ARGV[i]], groups[ARGV[i]] = KEYS[2 * (i - 5)], KEYS[2 * (i - 5) + 1]
end
local cur = {}
for sub in string.gmatch(shared, '[^,]+') do cur[sub] = true end
local given = {}
for i = 6, 5 + tonumber(ARGV[5]) do given[ARGV[i]] = true end
if ARGV[3] ~= 'rem' then
  for sub in pairs(given) do
    local a = redis.call('HMGET', acct[sub], 'parent_id', 'status')
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
  if not want[sub] then redis.call('SREM', groups[sub], ARGV[2]) end
end
local list = {}
for sub in pairs(want) do
  redis.call('SADD', groups[sub], ARGV[2])
  list[#list + 1] = sub
end
table.sort(list)
local s = table.concat(list, ',')
redis.call('HSET', KEYS[1], 'shared', s)
return {'ok', s}
