-- contact_delete.lua: delete a contact and take it out of every group
-- (package accounts, contacts.go).
-- KEYS[1] contact hash, KEYS[2] the account's numbers zset, KEYS[3] its
--         number index hash, KEYS[4] the contact's groups set, then
--         KEYS[4 + i] the members set of the i-th group of ARGV.
-- ARGV[1] account id, ARGV[2] contact id, then the contact's group ids as
--         the caller read KEYS[4].
-- Returns {'ok'} | {'nf'} | {'retry'} (the groups set is not the one the
--         caller read: nothing is written).
if redis.call('HGET', KEYS[1], 'account_id') ~= ARGV[1] then return {'nf'} end
local groups = redis.call('SMEMBERS', KEYS[4])
if #groups ~= #ARGV - 2 then return {'retry'} end
local at = {}
for i = 3, #ARGV do at[ARGV[i]] = KEYS[2 + i] end
for _, g in ipairs(groups) do
  if not at[g] then return {'retry'} end
end
local number = redis.call('HGET', KEYS[1], 'number')
for _, g in ipairs(groups) do
  redis.call('SREM', at[g], ARGV[2])
end
if redis.call('HGET', KEYS[3], number) == ARGV[2] then
  redis.call('HDEL', KEYS[3], number)
  redis.call('ZREM', KEYS[2], number)
end
redis.call('DEL', KEYS[1], KEYS[4])
return {'ok'}
