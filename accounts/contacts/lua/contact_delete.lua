-- contact_delete.lua: delete a contact and take it out of every group
-- (package accounts, contacts.go).
-- KEYS[1] contact hash, KEYS[2] the account's numbers zset, KEYS[3] its
--         number index hash, KEYS[4] the contact's groups set
-- ARGV[1] account id, ARGV[2] contact id, ARGV[3] group members key prefix
--         (P:{sN}:gmembers:)
-- Returns {'ok'} | {'nf'}.
if redis.call('HGET', KEYS[1], 'account_id') ~= ARGV[1] then return {'nf'} end
local number = redis.call('HGET', KEYS[1], 'number')
for _, g in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  redis.call('SREM', ARGV[3] .. g, ARGV[2])
end
if redis.call('HGET', KEYS[3], number) == ARGV[2] then
  redis.call('HDEL', KEYS[3], number)
  redis.call('ZREM', KEYS[2], number)
end
redis.call('DEL', KEYS[1], KEYS[4])
return {'ok'}
