-- Make a user a member of an account, optionally consuming an invitation in
-- the same step, so that of concurrent accepts of one token exactly one
-- succeeds (package accounts, users.go and invitations.go). The first admin
-- member of an account without an owner becomes its owner.
-- KEYS[1] members hash (user id -> role), KEYS[2] owner (user id),
-- KEYS[3] memberships hash (user id -> membership tag),
-- KEYS[4] invitation hash, KEYS[5] pending invitations (zset), KEYS[6] pending by email (hash)
-- ARGV[1] user id, ARGV[2] role (ignored with an invitation: its role is used),
-- ARGV[3] membership tag, ARGV[4] now (unix ms), ARGV[5] invitation token hash ('': no invitation),
-- ARGV[6] how long an accepted invitation is kept (ms), ARGV[7] account id
-- Returns {'ok', role, '1'|'0'}, {'member'}, {'notfound'}, {'used'}, {'revoked'} or {'expired'}.
local function admin(r) return r == 'parent_admin' or r == 'sub_admin' end
local role = ARGV[2]
local inv
if ARGV[5] ~= '' then
  inv = redis.call('HMGET', KEYS[4], 'token_hash', 'status', 'expires_at', 'role', 'account_id', 'email', 'id')
  if not inv[1] or inv[1] ~= ARGV[5] or inv[5] ~= ARGV[7] then return {'notfound'} end
  if inv[2] == 'accepted' then return {'used'} end
  if inv[2] == 'revoked' then return {'revoked'} end
  if tonumber(inv[3]) <= tonumber(ARGV[4]) then return {'expired'} end
  role = inv[4]
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {'member'} end
local owner = '0'
if admin(role) and not redis.call('GET', KEYS[2]) then
  local n = 0
  for _, r in ipairs(redis.call('HVALS', KEYS[1])) do
    if admin(r) then n = n + 1 end
  end
  if n == 0 then
    redis.call('SET', KEYS[2], ARGV[1])
    owner = '1'
  end
end
redis.call('HSET', KEYS[1], ARGV[1], role)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
if inv then
  redis.call('HSET', KEYS[4], 'status', 'accepted', 'accepted_by', ARGV[1], 'accepted_at', ARGV[4])
  redis.call('ZREM', KEYS[5], inv[7])
  local p = redis.call('HGET', KEYS[6], inv[6])
  if p and string.sub(p, 1, #inv[7] + 1) == inv[7] .. ' ' then redis.call('HDEL', KEYS[6], inv[6]) end
  redis.call('PEXPIRE', KEYS[4], ARGV[6])
end
return {'ok', role, owner}
