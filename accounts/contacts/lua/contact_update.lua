-- contact_update.lua: change one contact (package accounts, contacts.go).
-- KEYS[1] contact hash, KEYS[2] the account's numbers zset, KEYS[3] its
--         number index hash
-- ARGV[1] now (unix ms), ARGV[2] account id, ARGV[3] new number ('' keeps
--         it), then field/value pairs: an empty value removes a custom field
--         (f:<name>) and clears any other.
-- Returns {'ok'} | {'nf'} | {'taken', other contact id}.
if redis.call('HGET', KEYS[1], 'account_id') ~= ARGV[2] then return {'nf'} end
local id = redis.call('HGET', KEYS[1], 'id')
local old = redis.call('HGET', KEYS[1], 'number')
local new = ARGV[3]
if new ~= '' and new ~= old then
  local other = redis.call('HGET', KEYS[3], new)
  if other and other ~= id then return {'taken', other} end
  redis.call('HDEL', KEYS[3], old)
  redis.call('ZREM', KEYS[2], old)
  redis.call('HSET', KEYS[3], new, id)
  redis.call('ZADD', KEYS[2], 0, new)
  redis.call('HSET', KEYS[1], 'number', new)
end
for i = 4, #ARGV, 2 do
  local f, v = ARGV[i], ARGV[i + 1]
  if v == '' and string.sub(f, 1, 2) == 'f:' then
    redis.call('HDEL', KEYS[1], f)
  else
    redis.call('HSET', KEYS[1], f, v)
  end
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[1])
return {'ok'}
