-- Change a member's role and owner flag atomically with the account's
-- invariants (package accounts, users.go): the owner is an admin, at most one
-- member is the owner, and an account that has an admin member keeps one.
-- KEYS[1] members hash (user id -> role), KEYS[2] owner (user id)
-- ARGV[1] user id, ARGV[2] new role ('' unchanged), ARGV[3] owner ('' unchanged, '1' on, '0' off),
-- ARGV[4] highest rank of a member the caller may change (0: no limit),
-- ARGV[5] the admin role the account must keep: 'parent_admin' for a root
-- account, '' (any admin) for a sub-account
-- Returns {'ok', role, '1'|'0'}, {'notmember'}, {'above', role}, {'lastadmin'} or {'ownernotadmin', role}.
local ranks = {parent_admin = 4, sub_admin = 3, advanced = 2, basic = 1}
local function admin(r) return r == 'parent_admin' or r == 'sub_admin' end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return {'notmember'} end
local limit = tonumber(ARGV[4])
if limit > 0 and (ranks[cur] or 0) > limit then return {'above', cur} end
local role = cur
if ARGV[2] ~= '' then role = ARGV[2] end
local owner = redis.call('GET', KEYS[2]) == ARGV[1]
local want = owner
if ARGV[3] == '1' then want = true elseif ARGV[3] == '0' then want = false end
if want and not admin(role) then return {'ownernotadmin', role} end
local function keeps(r)
  if ARGV[5] ~= '' then return r == ARGV[5] end
  return admin(r)
end
if keeps(cur) and not keeps(role) then
  local n = 0
  for _, r in ipairs(redis.call('HVALS', KEYS[1])) do
    if keeps(r) then n = n + 1 end
  end
  if n <= 1 then return {'lastadmin'} end
end
redis.call('HSET', KEYS[1], ARGV[1], role)
if want then
  redis.call('SET', KEYS[2], ARGV[1])
elseif owner then
  redis.call('DEL', KEYS[2])
end
if want then return {'ok', role, '1'} end
return {'ok', role, '0'}
