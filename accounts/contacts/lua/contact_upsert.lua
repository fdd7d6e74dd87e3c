-- contact_upsert.lua: create or merge contacts of one account, de-duplicated
-- by normalised number (package accounts, contacts.go).
-- KEYS[1] the account's numbers zset (lex order), KEYS[2] its number index
--         hash (number -> contact id)
-- ARGV[1] now (unix ms), ARGV[2] account id, ARGV[3] contact key prefix
--         (P:{sN}:contact:), ARGV[4] count, then 6 values per contact:
--         new id, number, first name, last name, email, custom fields (JSON
--         object). A contact whose number exists is merged: non-empty values
--         replace the stored ones, empty ones leave them.
-- Returns {kind, id, kind, id, ...}, kind 'c' (created) or 'u' (updated).
local out = {}
local n = tonumber(ARGV[4])
for i = 0, n - 1 do
  local b = 5 + i * 6
  local newid, number = ARGV[b], ARGV[b + 1]
  local fields = cjson.decode(ARGV[b + 5])
  local id = redis.call('HGET', KEYS[2], number)
  local kind = 'u'
  if not id then
    id, kind = newid, 'c'
    redis.call('HSET', ARGV[3] .. id, 'id', id, 'account_id', ARGV[2], 'number', number,
      'created_at', ARGV[1])
    redis.call('HSET', KEYS[2], number, id)
    redis.call('ZADD', KEYS[1], 0, number)
  end
  local key = ARGV[3] .. id
  local set = {'updated_at', ARGV[1]}
  local names = {'first_name', 'last_name', 'email'}
  for j = 1, 3 do
    local v = ARGV[b + 1 + j]
    if v ~= '' then
      set[#set + 1] = names[j]
      set[#set + 1] = v
    end
  end
  for k, v in pairs(fields) do
    if v ~= '' then
      set[#set + 1] = 'f:' .. k
      set[#set + 1] = v
    end
  end
  redis.call('HSET', key, unpack(set))
  out[#out + 1] = kind
  out[#out + 1] = id
end
return out
