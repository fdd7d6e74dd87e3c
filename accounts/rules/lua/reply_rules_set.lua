-- Set fields of an account's reply rules (package accounts, inbox_rules.go).
-- KEYS[1] the account hash; KEYS[2] its reply rules hash.
-- ARGV field, value pairs (mail_sender, webhook, forward_to), already
-- validated. Returns "ok", or nil when the account does not exist or is
-- deleted (nothing is written).
local id, status = unpack(redis.call('HMGET', KEYS[1], 'id', 'status'))
if not id or status == 'deleted' then
  return false
end
redis.call('HSET', KEYS[2], unpack(ARGV))
return 'ok'
