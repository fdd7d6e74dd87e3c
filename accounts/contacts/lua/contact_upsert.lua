-- contact_upsert.lua: create or merge contacts of one account, de-duplicated
-- by normalised number (package accounts, contacts.go).
-- KEYS[1] the account's numbers zset (lex order), KEYS[2] its number index
--         hash (number -> contact id), then KEYS[2 + i] the hash of the i-th
--         contact: the one the number had when the caller read the index, or
--         the new one.
-- ARGV[1] now (unix ms), ARGV[2] account id, ARGV[3] count, ARGV[4] the
--         account's contacts quota, then 7 values per
--         contact: new id, the id the caller found for the number ('' for
--         none; an earlier contact of the same call counts), number, first
--         name, last name, email, custom fields (JSON object). A contact whose
--         number exists is merged: non-empty values replace the stored ones,
--         empty ones leave them.
-- Returns {kind, id, kind, id, ...}, kind 'c' (created) or 'u' (updated),
--         or {'retry'} when the index changed since the caller read it, or
--         {'quota', contacts, new ones} when the new contacts would exceed
--         the quota: nothing is written then.
local n = tonumber(ARGV[3])
local seen = {}
local fresh = 0
for i = 0, n - 1 do
  local b = 5 + i * 7
  local number = ARGV[b + 2]
  local id = seen[number] or redis.call('HGET', KEYS[2], number) or ''
  if id ~= ARGV[b + 1] then return {'retry'} end
  if id == '' then
    id = ARGV[b]
    fresh = fresh + 1
  end
  seen[number] = id
end
if fresh > 0 then
  local have = redis.call('ZCARD', KEYS[1])
  if have + fresh > tonumber(ARGV[4]) then return {'quota', tostring(have), tostring(fresh)} end
end
local out = {}
for i = 0, n - 1 do
  local b = 5 + i * 7
  local newid, number = ARGV[b], ARGV[b + 2]
  local key = KEYS[3 + i]
  local fields = cjson.decode(ARGV[b + 6])
  local id = redis.call('HGET', KEYS[2], number)
  local kind = 'u'
  if not id then
    id, kind = newid, 'c'
    redis.call('HSET', key, 'id', id, 'account_id', ARGV[2], 'number', number,
      'created_at', ARGV[1])
    redis.call('HSET', KEYS[2], number, id)
    redis.call('ZADD', KEYS[1], 0, number)
  end
  local set = {'updated_at', ARGV[1]}
  local names = {'first_name', 'last_name', 'email'}
  for j = 1, 3 do
    local v = ARGV[b + 2 + j]
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
