-- Delete one template of an account and its name.
--
-- KEYS[1] P:{sN}:tpl:<acct>      HASH template id -> JSON
-- KEYS[2] P:{sN}:tplname:<acct>  HASH folded name -> template id
-- ARGV[1] template id
-- ARGV[2] JSON read before (compare-and-set: a concurrent rename is retried)
-- ARGV[3] folded name
--
-- Returns "ok", "notfound" or "retry".
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  return 'notfound'
end
if cur ~= ARGV[2] then
  return 'retry'
end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[3])
end
return 'ok'
