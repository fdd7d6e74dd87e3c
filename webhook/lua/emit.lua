-- emit.lua: enqueue one event for the account's webhooks.
-- KEYS: 1 webhooks hash (id -> JSON record), 2 queue stream, 3 deliveries hash.
-- ARGV: 1 type, 2 body (event JSON), 3 delivery id prefix, 4 only this
-- webhook id ('' = every active webhook subscribed to the type), 5 event id,
-- 6 account id, 7 now (unix ms).
-- Returns the number of deliveries enqueued, or -1 when ARGV[4] names no
-- webhook of the account.
local only = ARGV[4]
local hooks
if only ~= '' then
  local v = redis.call('HGET', KEYS[1], only)
  if not v then return -1 end
  hooks = {only, v}
else
  hooks = redis.call('HGETALL', KEYS[1])
end
local n = 0
for i = 1, #hooks, 2 do
  local w = cjson.decode(hooks[i + 1])
  local ev = w.events or ''
  local match = only ~= '' or (w.status == 'active' and
    (ev == '' or string.find(',' .. ev .. ',', ',' .. ARGV[1] .. ',', 1, true) ~= nil))
  if match then
    n = n + 1
    local did = ARGV[3] .. '-' .. n
    redis.call('HSET', KEYS[3], did, cjson.encode({w = hooks[i], a = ARGV[6], t = ARGV[1],
      e = ARGV[5], b = ARGV[2], n = 0, c = tonumber(ARGV[7])}))
    redis.call('XADD', KEYS[2], '*', 'd', did)
  end
end
return n
