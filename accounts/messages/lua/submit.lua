-- submit.lua: record a successful submission on a message hash. A delivery
-- receipt can race ahead of this call; a final status is then kept.
-- KEYS: 1 message hash. ARGV: 1 link, 2 smsc id, 3 submitted_at (unix ms).
-- Returns 1, or 0 when the message does not exist.
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 0 end
if st == 'queued' or st == 'submitted' then
  redis.call('HSET', KEYS[1], 'status', 'submitted')
  -- An error of an earlier attempt is stale once the message is submitted
  -- (a receipt that raced ahead keeps its own); the resume state is done:
  -- the parts' ids are in the SMSC-id index.
  redis.call('HDEL', KEYS[1], 'error', 'part_ids')
end
redis.call('HSET', KEYS[1], 'link', ARGV[1], 'smsc_id', ARGV[2], 'submitted_at', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return 1
