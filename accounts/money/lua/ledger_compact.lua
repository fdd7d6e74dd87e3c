-- Compacts an account's ledger: the entries before a cut-off are folded
-- into the account's opening balance (a hash) and trimmed from the stream,
-- so that the opening balance and the entries still sum to the balance.
-- KEYS: 1 the ledger stream, 2 the opening-balance hash
-- ARGV: 1 cut-off entry id (entries with a smaller id are folded),
--       2 actor, 3 now (unix ms)
-- Returns {entries folded, their sum}. An error when the folded entries do
-- not end at the running balance they add up to: a ledger that does not
-- balance is never papered over.
local old = redis.call('XRANGE', KEYS[1], '-', '(' .. ARGV[1])
if #old == 0 then return {0, 0} end
local prev = redis.call('HMGET', KEYS[2], 'amount', 'count', 'digest')
local start = tonumber(prev[1] or '0')
local sum, lines, lastBalance, lastAt = start, {}, nil, nil
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
  return redis.error_reply('ERR ledger does not balance: the opening balance and the ' .. #old ..
    ' entries before ' .. ARGV[1] .. ' sum to ' .. sum .. ' but end at a balance of ' .. tostring(lastBalance))
end
-- A chained digest: each compaction's SHA-1 covers the previous one and the
-- entries it folded, so an auditor holding the exports can check them all.
local digest = redis.sha1hex((prev[3] or '') .. '\n' .. table.concat(lines, '\n'))
redis.call('HSET', KEYS[2], 'amount', sum, 'balance', lastBalance, 'upto', old[#old][1],
  'count', tonumber(prev[2] or '0') + #old, 'digest', digest, 'actor', ARGV[2],
  'at', lastAt or ARGV[3], 'compacted_at', ARGV[3])
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
return {#old, sum - start}
