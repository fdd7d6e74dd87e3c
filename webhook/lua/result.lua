-- result.lua: record the outcome of one delivery attempt and decide the next
-- step, atomically.
-- KEYS: 1 webhooks hash, 2 queue stream, 3 retry zset, 4 deliveries hash,
-- 5 the webhook's log list.
-- ARGV: 1 webhook id, 2 stream entry id ('' when none), 3 delivery id,
-- 4 outcome ('ok', 'fail' or 'drop'), 5 attempt JSON for the log ('' = none),
-- 6 retry due time in unix ms (0 = no attempts left), 7 consecutive failures
-- that disable the webhook (<= 0: never), 8 reason when the event exhausted
-- its attempts, 9 reason when the consecutive failures reached ARGV[7],
-- 10 '1' when the attempt counts toward the webhook's failures, 11 log cap.
-- Returns 'delivered', 'retry', 'exhausted', 'dropped', or 'disabled' when
-- this failure disabled the webhook.
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[2], 'webhooks', ARGV[2])
  redis.call('XDEL', KEYS[2], ARGV[2])
end
if ARGV[4] == 'drop' then
  redis.call('HDEL', KEYS[4], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[3])
  return 'dropped'
end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local w = nil
if raw then w = cjson.decode(raw) end
-- A deleted webhook's log is gone; do not recreate it.
if w and ARGV[5] ~= '' then
  redis.call('LPUSH', KEYS[5], ARGV[5])
  redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[11]) - 1)
end
local counts = ARGV[10] == '1'
if ARGV[4] == 'ok' then
  redis.call('HDEL', KEYS[4], ARGV[3])
  if w and counts and tonumber(w.failures or 0) ~= 0 then
    w.failures = 0
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(w))
  end
  return 'delivered'
end
local res = 'exhausted'
local due = tonumber(ARGV[6])
local p = redis.call('HGET', KEYS[4], ARGV[3])
if due > 0 and p then
  local d = cjson.decode(p)
  d.n = (d.n or 0) + 1
  redis.call('HSET', KEYS[4], ARGV[3], cjson.encode(d))
  redis.call('ZADD', KEYS[3], due, ARGV[3])
  res = 'retry'
else
  redis.call('HDEL', KEYS[4], ARGV[3])
end
if w and counts then
  w.failures = tonumber(w.failures or 0) + 1
  if w.status == 'active' then
    local max = tonumber(ARGV[7])
    if res == 'exhausted' then
      w.status = 'disabled'
      w.reason = ARGV[8]
      res = 'disabled'
    elseif max > 0 and w.failures >= max then
      w.status = 'disabled'
      w.reason = ARGV[9]
      res = 'disabled'
    end
  end
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(w))
end
return res
