-- Takes or renews a lease: one holder at a time for a deployment-wide job.
-- KEYS: 1 the lease key
-- ARGV: 1 holder, 2 ttl (ms)
-- Returns 1 while ARGV[1] holds the lease (taken or renewed), else 0.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
