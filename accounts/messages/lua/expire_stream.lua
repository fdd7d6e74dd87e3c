-- Removes entries of a message log stream (keyspace MessageStream) and
-- deletes each one's message keys.
-- KEYS: 1 the log stream, then for each entry ARGV[2] keys
-- ARGV: 1 keys per entry, then per entry its stream id and message id
--       (read from the stream, oldest first, up to the cut-off, before
--       the call)
-- Returns how many entries were removed. An entry already gone (another
-- sweep) is not counted again; deleting its keys again changes nothing.
local per = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV, 2 do
  local first = 2 + (i - 2) / 2 * per
  for k = first, first + per - 1 do
    redis.call('DEL', KEYS[k])
  end
  removed = removed + redis.call('XDEL', KEYS[1], ARGV[i])
end
return removed
