-- One automatic action under an automation rule, within the loop limits.
-- KEYS: 1 the (rule, phone) window key, 2 the account's counter of this hour.
-- ARGV: 1 window (ms, 0: no window), 2 hourly cap (0: none), 3 counter ttl (ms).
-- Returns "ok" (recorded), "window" or "hourly_cap" (refused, nothing recorded).
local window = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
if window > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  return 'window'
end
if cap > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= cap then
  return 'hourly_cap'
end
if window > 0 then
  redis.call('SET', KEYS[1], '1', 'PX', window)
end
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 'ok'
