-- trim_log.lua: drop a webhook log's oldest attempts, those the caller read
-- as past their retention, and only while they are still its oldest (an
-- attempt pushed meanwhile, or the log trimmed by its cap, changes nothing
-- it should not).
-- KEYS: 1 the webhook's log list (newest first).
-- ARGV: the attempts to drop, oldest first, exactly as stored.
-- Returns how many it dropped.
local n = 0
for i = 1, #ARGV do
  if redis.call('LINDEX', KEYS[1], -1) ~= ARGV[i] then break end
  redis.call('RPOP', KEYS[1])
  n = n + 1
end
return n
