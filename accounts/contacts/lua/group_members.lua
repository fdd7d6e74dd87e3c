-- group_members.lua: add contacts to a group or remove them (package
-- accounts, groups.go). Only contacts of the group's own account can be
-- members; the group holds at most ARGV[6] members.
-- KEYS[1] the group's hash, KEYS[2] its members set
-- ARGV[1] account id, ARGV[2] group id, ARGV[3] 'add' or 'rem',
--         ARGV[4] contact key prefix (P:{sN}:contact:), ARGV[5] contact
--         groups key prefix (P:{sN}:cgroups:), ARGV[6] member limit, then
--         contact ids.
-- Returns {'ok', changed, missing id...} | {'nf'} | {'full', members, adding}.
if redis.call('HGET', KEYS[1], 'account_id') ~= ARGV[1] then return {'nf'} end
local ids, missing = {}, {}
for i = 7, #ARGV do
  local c = ARGV[i]
  if redis.call('HGET', ARGV[4] .. c, 'account_id') == ARGV[1] then
    ids[#ids + 1] = c
  else
    missing[#missing + 1] = c
  end
end
local changed = 0
if ARGV[3] == 'add' then
  local fresh = 0
  for _, c in ipairs(ids) do
    if redis.call('SISMEMBER', KEYS[2], c) == 0 then fresh = fresh + 1 end
  end
  local have = redis.call('SCARD', KEYS[2])
  if have + fresh > tonumber(ARGV[6]) then return {'full', have, fresh} end
  for _, c in ipairs(ids) do
    changed = changed + redis.call('SADD', KEYS[2], c)
    redis.call('SADD', ARGV[5] .. c, ARGV[2])
  end
else
  for _, c in ipairs(ids) do
    changed = changed + redis.call('SREM', KEYS[2], c)
    redis.call('SREM', ARGV[5] .. c, ARGV[2])
  end
end
local out = {'ok', changed}
for _, c in ipairs(missing) do out[#out + 1] = c end
return out
