-- accept.lua: debit an account and enqueue its messages, atomically.
-- KEYS: 1 account hash, 2 ledger stream, 3 message log zset, 4 queue stream,
--       5 idempotency key (or any key of the shard when ARGV[3] == '0'),
--       6.. one message hash per message.
-- ARGV: 1 now (unix ms), 2 message count, 3 idempotency flag '1'/'0',
--       4 account id, 5 account key prefix (P:{sN}:acct:), then 9 fields per message:
--       id, sender, mail_id, source, to, text, coding, parts, price.
-- Returns {'ok', balance} | {'dup', ids, balance} | {'bal', balance, currency}
--       | {'nf'} | {'deact'}.
local acct = redis.call('HMGET', KEYS[1], 'status', 'balance', 'currency', 'parent_id')
if not acct[1] then return {'nf'} end
local bal = tonumber(acct[2]) or 0
-- A replay of an accepted request stays accepted, whatever happened since.
if ARGV[3] == '1' then
  local ids = redis.call('GET', KEYS[5])
  if ids then return {'dup', ids, bal} end
end
if acct[1] ~= 'active' then return {'deact'} end
-- A deactivated parent stops its sub-accounts. The parent's key is not in
-- KEYS (its id is only known here) but shares the hash tag, hence the slot.
if acct[4] and acct[4] ~= '' and
    redis.call('HGET', ARGV[5] .. acct[4], 'status') ~= 'active' then
  return {'deact'}
end
local n = tonumber(ARGV[2])
local total = 0
for i = 0, n - 1 do
  total = total + tonumber(ARGV[5 + i * 9 + 9])
end
if total > bal then return {'bal', bal, acct[3] or ''} end
local now = ARGV[1]
local ids = {}
for i = 0, n - 1 do
  local b = 5 + i * 9
  local id, sender, price = ARGV[b + 1], ARGV[b + 2], tonumber(ARGV[b + 9])
  bal = bal - price
  redis.call('XADD', KEYS[2], '*', 'amount', 0 - price, 'balance', bal, 'kind', 'send',
    'ref', id, 'actor', sender, 'at', now)
  redis.call('HSET', KEYS[5 + i + 1], 'id', id, 'account_id', ARGV[4], 'sender', sender,
    'mail_id', ARGV[b + 3], 'source', ARGV[b + 4], 'to', ARGV[b + 5], 'text', ARGV[b + 6],
    'coding', ARGV[b + 7], 'parts', ARGV[b + 8], 'price', ARGV[b + 9], 'status', 'queued',
    'attempts', 0, 'delivered_parts', 0, 'created_at', now)
  redis.call('ZADD', KEYS[3], now, id)
  redis.call('XADD', KEYS[4], '*', 'm', id)
  ids[#ids + 1] = id
end
bal = redis.call('HINCRBY', KEYS[1], 'balance', 0 - total)
if ARGV[3] == '1' then
  redis.call('SET', KEYS[5], table.concat(ids, ','), 'EX', 86400)
end
return {'ok', bal}
