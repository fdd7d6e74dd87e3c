-- receipt.lua: apply a batch of delivery receipts (one part each) to
-- messages of one shard.
-- KEYS: 3 per receipt: 1 message hash, 2 set of parts already reported
--       delivered, 3 statistics hash of the message's creation day (the
--       message key when the message has no account).
-- ARGV: 6 per receipt: 1 status, 2 error code, 3 at (unix ms), 4 part
--       (canonical smsc id), 5 the message's account id and 6 its
--       created_at, as the caller read them to build the statistics key (''
--       when absent).
-- A message is delivered once every part is; a failure of any part is final
-- and is never overwritten. Duplicate receipts of a part count once.
-- When the message reaches its final status, that status is counted in the
-- statistics of the message's creation day (see stats.go): field
-- s:<status>:<sender> of P:{sN}:stats:<account>:<day>, day =
-- floor(created_at / 86400000). Both never change once the message exists;
-- a message whose fields differ from ARGV 5 and 6 is refused (nothing is
-- written for that receipt).
-- Returns one element per receipt: 0 when the message does not exist,
-- 'differ' when its account or creation time differ from the keys given,
-- 1 when applied without a final transition (a part of a longer message,
-- a duplicate, a receipt after a final status), or {'final', sender} when
-- this receipt gave the message its final status (the caller knows the
-- rest it needs, or reads the message).
-- Status counts are added up over the batch and written at the end, one
-- HINCRBY a statistics field (most receipts of a batch count the same one).
local out, counts, countKeys = {}, {}, {}
for r = 1, #KEYS / 3 do
  local k, a = (r - 1) * 3, (r - 1) * 6
  local key, status, at = KEYS[k + 1], ARGV[a + 1], ARGV[a + 3]
  -- One HMGET reads all a receipt needs; a single-part message (the
  -- common case) needs no set of delivered parts.
  local f = redis.call('HMGET', key, 'status', 'parts', 'account_id', 'sender', 'created_at')
  local st = f[1]
  if not st then
    out[r] = 0
  elseif (f[3] or '') ~= ARGV[a + 5] or (f[5] or '') ~= ARGV[a + 6] then
    out[r] = 'differ'
  else
    local open = st == 'queued' or st == 'submitted'
    local parts = tonumber(f[2]) or 1
    local final = nil
    if status == 'delivered' then
      if parts <= 1 then
        if open then
          redis.call('HSET', key, 'status', 'delivered', 'done_at', at, 'delivered_parts', '1')
          final = status
        end
      elseif redis.call('SADD', KEYS[k + 2], ARGV[a + 4]) == 1 then
        redis.call('PEXPIRE', KEYS[k + 2], 604800000)
        local d = redis.call('HINCRBY', key, 'delivered_parts', 1)
        if open and d >= parts then
          redis.call('HSET', key, 'status', 'delivered', 'done_at', at)
          final = status
        end
      end
    elseif open and (status == 'undeliverable' or status == 'expired'
        or status == 'rejected' or status == 'failed') then
      redis.call('HSET', key, 'status', status, 'error', ARGV[a + 2], 'done_at', at)
      final = status
    end
    if final then
      if f[3] then
        local c = counts[KEYS[k + 3]]
        if not c then
          c = {n = {}, fields = {}}
          counts[KEYS[k + 3]] = c
          countKeys[#countKeys + 1] = KEYS[k + 3]
        end
        local field = 's:' .. final .. ':' .. (f[4] or '')
        if not c.n[field] then c.fields[#c.fields + 1] = field end
        c.n[field] = (c.n[field] or 0) + 1
      end
      out[r] = {'final', f[4] or ''}
    else
      out[r] = 1
    end
  end
end
for _, key in ipairs(countKeys) do
  local c = counts[key]
  for _, field in ipairs(c.fields) do redis.call('HINCRBY', key, field, c.n[field]) end
end
return out
