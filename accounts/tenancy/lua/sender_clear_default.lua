-- Clear an account's default sender id if it is still the identity being
-- taken away (package accounts, senders.go), so that a default set
-- meanwhile to something else is kept.
-- KEYS[1] account hash; ARGV[1] the identity, ARGV[2] "ci" to compare
-- without regard to ASCII case (alphanumeric ids). Returns 1 if cleared.
local cur = redis.call('HGET', KEYS[1], 'sender_id')
if not cur or cur == '' then return 0 end
local same = cur == ARGV[1]
if not same and ARGV[2] == 'ci' then same = string.lower(cur) == string.lower(ARGV[1]) end
if same then
  redis.call('HSET', KEYS[1], 'sender_id', '')
  return 1
end
return 0
