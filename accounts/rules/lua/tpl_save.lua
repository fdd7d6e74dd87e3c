-- Create or update one template of an account, keeping names unique per
-- account (case-insensitive: the index holds folded names).
--
-- KEYS[1] P:{sN}:tpl:<acct>      HASH template id -> JSON
-- KEYS[2] P:{sN}:tplname:<acct>  HASH folded name -> template id
-- KEYS[3] P:{sN}:acct:<acct>     the account record (must exist, not deleted)
-- ARGV[1] template id
-- ARGV[2] folded new name
-- ARGV[3] new JSON
-- ARGV[4] JSON read before the update ("" to create): compare-and-set, so
--         that a concurrent change is retried rather than overwritten
-- ARGV[5] folded old name ("" to create)
-- ARGV[6] most templates an account may have
--
-- Returns "ok", "noaccount", "notfound", "retry", "taken" or "full".
local st = redis.call('HGET', KEYS[3], 'status')
if not st or st == 'deleted' then
  return 'noaccount'
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[4] == '' then
  if cur then
    return 'retry' -- an id collision: the caller picks another id
  end
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[6]) then
    return 'full'
  end
else
  if not cur then
    return 'notfound'
  end
  if cur ~= ARGV[4] then
    return 'retry'
  end
end
local owner = redis.call('HGET', KEYS[2], ARGV[2])
if owner and owner ~= ARGV[1] then
  return 'taken'
end
if ARGV[5] ~= '' and ARGV[5] ~= ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[5])
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 'ok'
