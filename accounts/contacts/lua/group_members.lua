-- group_members.lua: add contacts to a group or remove them (package
-- accounts, groups.go). Only contacts of the group's own account can be
-- members; the group holds at most ARGV[4] members.
-- KEYS[1] the group's hash, KEYS[2] its members set, then two keys per
--         contact of ARGV: KEYS[1 + 2i] its hash, KEYS[2 + 2i] its groups set.
-- ARGV[1] account id, ARGV[2] group id, ARGV[3] 'add' or 'rem',
--         ARGV[4] member limit, then contact ids.
-- Returns {'ok', changed, missing id...} | {'nf'} | {'full', members, adding}.
if redis.call('HGET', KEYS[1], 'account_id') ~= ARGV[1] then return {'nf'} end
local ids, missing = {}, {}
for i = 5, #ARGV do
  local c, k = ARGV[i], i - 4
  if redis.call('HGET', KEYS[1 + 2 * k], 'account_id') == ARGV[1] then
    ids[#ids + 1] = {c, KEYS[2 + 2 * k]}
  else
    missing[#missing + 1] = c
  end
end
local changed = 0
if ARGV[3] == 'add' then
  local fresh = 0
  for _, c in ipairs(ids) do
    if redis.call('SISMEMBER', KEYS[2], c[1]) == 0 then fresh = fresh + 1 end
  end
  local have = redis.call('SCARD', KEYS[2])
  if have + fresh > tonumber(ARGV[4]) then return {'full', have, fresh} end
  for _, c in ipairs(ids) do
    changed = changed + redis.call('SADD', KEYS[2], c[1])
    redis.call('SADD', c[2], ARGV[2])
  end
else
  for _, c in ipairs(ids) do
    changed = changed + redis.call('SREM', KEYS[2], c[1])
    redis.call('SREM', c[2], ARGV[2])
  end
end
local out = {'ok', changed}
for _, c in ipairs(missing) do out[#out + 1] = c end
return out
