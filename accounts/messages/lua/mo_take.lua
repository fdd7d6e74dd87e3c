-- Take an incomplete concatenated reply for delivery with the parts that
-- came (package messages, moparts.go).
-- KEYS[1] the parts hash, KEYS[2] the delivered marker. ARGV[1] ttl ms.
-- Returns the hash (HGETALL), empty when it is gone (completed meanwhile);
-- the hash is deleted and the reply marked delivered.
local all = redis.call('HGETALL', KEYS[1])
if #all == 0 then return {} end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return all
