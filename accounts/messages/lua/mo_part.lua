-- Store one part of a concatenated reply (package messages, moparts.go).
-- KEYS[1] the parts hash, KEYS[2] the delivered marker.
-- ARGV[1] seq, ARGV[2] the part's raw body, ARGV[3] data_coding, ARGV[4]
-- total, ARGV[5] ttl ms (of the hash and the marker), ARGV[6] now ms.
-- Returns {'dup'} for a part seen before (or of a reply already delivered),
-- {'stored'} while parts are missing, {'complete', field, value, ...} with
-- every part once the last came (the hash is then deleted and the reply
-- marked delivered).
if redis.call('EXISTS', KEYS[2]) == 1 then return {'dup'} end
local new = redis.call('HSETNX', KEYS[1], 'p' .. ARGV[1], ARGV[2])
if redis.call('HSETNX', KEYS[1], 'first', ARGV[6]) == 1 then
  redis.call('HSET', KEYS[1], 'c', ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if new == 0 then return {'dup'} end
if redis.call('HLEN', KEYS[1]) - 2 < tonumber(ARGV[4]) then return {'stored'} end
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
local out = {'complete'}
for _, v in ipairs(all) do out[#out + 1] = v end
return out
