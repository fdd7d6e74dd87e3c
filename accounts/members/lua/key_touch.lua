-- Record when an API key was last used, only while it exists (a key
-- revoked meanwhile is not resurrected as a bare hash) (members/keys.go).
-- KEYS[1] the key's hash; ARGV[1] now (unix ms).
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'last_used', ARGV[1])
end
return 1
