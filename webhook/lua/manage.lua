-- manage.lua: change one webhook of an account.
-- KEYS: 1 webhooks hash, 2 secrets hash, 3 the webhook's log list.
-- ARGV: 1 operation, 2 webhook id, then per operation:
--   create: 3 record JSON, 4 secret, 5 max webhooks per account
--   enable: (none)
--   rotate: 3 new secret
--   delete: (none)
-- Returns the record JSON (create, enable, rotate), 1 (delete), or the
-- string 'NOTFOUND' when the webhook does not exist, 'LIMIT' when the
-- account has too many.
local op, id = ARGV[1], ARGV[2]
if op == 'create' then
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then
    return 'LIMIT'
  end
  redis.call('HSET', KEYS[1], id, ARGV[3])
  redis.call('HSET', KEYS[2], id, ARGV[4])
  return ARGV[3]
end
local raw = redis.call('HGET', KEYS[1], id)
if not raw then return 'NOTFOUND' end
if op == 'enable' then
  local w = cjson.decode(raw)
  w.status = 'active'
  w.reason = ''
  w.failures = 0
  raw = cjson.encode(w)
  redis.call('HSET', KEYS[1], id, raw)
  return raw
elseif op == 'rotate' then
  redis.call('HSET', KEYS[2], id, ARGV[3])
  return raw
elseif op == 'delete' then
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('DEL', KEYS[3])
  return 1
end
return redis.error_reply('unknown operation ' .. op)
