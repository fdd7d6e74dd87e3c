-- Remove a member, refusing to remove the last admin of an account
-- (package accounts, users.go). The owner flag goes with the member.
-- KEYS[1] members hash (user id -> role), KEYS[2] owner (user id),
-- KEYS[3] memberships hash (user id -> membership tag)
-- ARGV[1] user id, ARGV[2] highest rank of a member the caller may remove (0: no limit),
-- ARGV[3] the admin role the account must keep: 'parent_admin' for a root
-- account, '' (any admin) for a sub-account
-- Returns {'ok', role}, {'notmember'}, {'above', role} or {'lastadmin'}.
local ranks = {parent_admin = 4, sub_admin = 3, advanced = 2, basic = 1}
local function admin(r) return r == 'parent_admin' or r == 'sub_admin' end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return {'notmember'} end
local limit = tonumber(ARGV[2])
if limit > 0 and (ranks[cur] or 0) > limit then return {'above', cur} end
local function keeps(r)
  if ARGV[3] ~= '' then return r == ARGV[3] end
  return admin(r)
end
if keeps(cur) then
  local n = 0
  for _, r in ipairs(redis.call('HVALS', KEYS[1])) do
    if keeps(r) then n = n + 1 end
  end
  if n <= 1 then return {'lastadmin'} end
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return {'ok', cur}
