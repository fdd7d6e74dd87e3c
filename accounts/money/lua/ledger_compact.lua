-- Compacts an account's ledger: the entries before a cut-off become one
-- opening-balance entry, and "entries sum to the balance" still holds.
-- KEYS: 1 the ledger stream, 2 a scratch key of the same shard
-- ARGV: 1 cut-off entry id (entries with a smaller id are compacted),
--       2 actor, 3 now (unix ms), 4 reference text
-- Returns {entries compacted, their sum}; {0, 0} when there are fewer than
-- two (nothing to gain). An error when the compacted entries do not add up
-- to the running balance they end with: a ledger that does not balance is
-- never papered over.
local old = redis.call('XRANGE', KEYS[1], '-', '(' .. ARGV[1])
if #old < 2 then return {0, 0} end
local sum, lines, lastBalance, lastAt = 0, {}, nil, nil
for _, e in ipairs(old) do
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == 'amount' then sum = sum + tonumber(f[i + 1])
    elseif f[i] == 'balance' then lastBalance = tonumber(f[i + 1])
    elseif f[i] == 'at' then lastAt = f[i + 1] end
  end
  lines[#lines + 1] = e[1] .. ' ' .. table.concat(f, ' ')
end
if sum ~= lastBalance then
  return redis.error_reply('ERR ledger does not balance: the ' .. #old .. ' entries before ' .. ARGV[1] ..
    ' sum to ' .. sum .. ' but end at a balance of ' .. tostring(lastBalance))
end
-- The digest lets an auditor holding an export of the compacted entries
-- check it against the opening entry.
local digest = redis.sha1hex(table.concat(lines, '\n'))
local last = old[#old][1]
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[2], last, 'amount', sum, 'balance', lastBalance, 'kind', 'opening',
  'ref', ARGV[4] .. ': ' .. #old .. ' entries up to ' .. last .. ' compacted at ' .. ARGV[3] .. ', sha1 ' .. digest,
  'actor', ARGV[2], 'at', lastAt or ARGV[3])
local rest = redis.call('XRANGE', KEYS[1], ARGV[1], '+')
for _, e in ipairs(rest) do
  redis.call('XADD', KEYS[2], e[1], unpack(e[2]))
end
redis.call('RENAME', KEYS[2], KEYS[1])
return {#old, sum}
