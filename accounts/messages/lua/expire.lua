-- Removes records older than a cut-off from a time-ordered log (a zset of
-- ids scored by creation, unix ms) and deletes each one's own keys.
-- KEYS: 1 the log zset, then for each id in ARGV[3..] its ARGV[2] keys
-- ARGV: 1 cut-off (unix ms; records scored at or before it go),
--       2 keys per id, 3.. ids (read from the log before the call)
-- Returns how many records were removed. An id no longer in the log, or
-- scored after the cut-off, is left alone: the ids were read before the
-- call and the log may have changed since.
local cutoff, per = tonumber(ARGV[1]), tonumber(ARGV[2])
local removed = 0
for i = 3, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= cutoff then
    local first = 2 + (i - 3) * per
    for k = first, first + per - 1 do
      redis.call('DEL', KEYS[k])
    end
    redis.call('ZREM', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
