-- Pick the shared pool number for one (owner, phone) (package messages,
-- pool.go): the sticky number if the owner still holds its conversation
-- with the phone, else the first pool number whose conversation with the
-- phone is free or already the owner's. The pick is held for ARGV[2] ms and
-- refreshed by every send.
-- KEYS[1] the owner's sticky key; KEYS[2..n+1] the owner keys of the pool
-- numbers with this phone, in pool order.
-- ARGV[1] owner ("<acct> <sender>"); ARGV[2] ttl ms; ARGV[3..n+2] the pool
-- numbers, in the order of KEYS[2..].
-- Returns the number, or false when every number is held by someone else.
local me, ttl = ARGV[1], tonumber(ARGV[2])
local function take(i)
  redis.call('SET', KEYS[i], me, 'PX', ttl)
  redis.call('SET', KEYS[1], ARGV[i + 1], 'PX', ttl)
  return ARGV[i + 1]
end
local sticky = redis.call('GET', KEYS[1])
if sticky then
  for i = 2, #KEYS do
    if ARGV[i + 1] == sticky then
      local o = redis.call('GET', KEYS[i])
      if not o or o == me then return take(i) end
    end
  end
end
for i = 2, #KEYS do
  local o = redis.call('GET', KEYS[i])
  if not o or o == me then return take(i) end
end
return false
