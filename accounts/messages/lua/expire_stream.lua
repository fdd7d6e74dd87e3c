-- Removes entries of a message log stream (keyspace MessageStream) and
-- deletes their messages' keys.
-- KEYS: 1 the log stream, then each entry's keys in turn
-- ARGV: per entry its stream id, how many keys it has and how many
--       messages (read from the stream, oldest first, up to the cut-off,
--       before the call)
-- Returns how many messages were removed. An entry already gone (another
-- sweep) is not counted again; deleting its keys again changes nothing.
local removed, k = 0, 1
for i = 1, #ARGV, 3 do
  local nk = tonumber(ARGV[i + 1])
  for j = k + 1, k + nk do
    redis.call('DEL', KEYS[j])
  end
  k = k + nk
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then removed = removed + tonumber(ARGV[i + 2]) end
end
return removed
