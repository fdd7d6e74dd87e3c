-- accept.lua: price, debit an account and enqueue its messages, atomically;
-- several such requests of one shard in one call (group commit: the
-- accepts of concurrent SMTP sessions share a round trip, and their
-- counters are written once, at the end of the call).
-- A call's KEYS and ARGV: ARGV[1] is the number of requests, ARGV[2] the
-- number of key contexts, ARGV[3] '1' to queue the call's messages of a
-- queue as one entry (field 'g': their ids, comma-separated; a lone message
-- is an entry 'm' as ever), '0' for an entry each. KEYS begins with the contexts, 13 keys each: the
-- keys a request shares with the others of its account in the call (most
-- calls carry one account's mails, whose keys then travel once); then come
-- each request's own keys. Each request's ARGV follow in turn: first the
-- ordinal of its context, then its arguments. A request's result is as if
-- it ran alone after the ones before it; one refused changes nothing of the
-- others.
-- A context's KEYS, numbered from 1:
--       1 account hash, 2 ledger stream, 3 message log stream, 4 queue
--       stream, 5 statistics hash of the day (P:{sN}:stats:<acct>:<day>),
--       6 the account's price table (P:{sN}:prices:<acct>; read only when
--         the account hash says it has one),
--       7 the parent's account hash, 8 the parent's ledger stream (any key
--         of the shard for a top-level account),
--       9 the account's opt-out list (P:{sN}:optout:<acct>), 10 the
--         parent's (any key of the shard for a top-level account),
--       11 the account's blocked log (P:{sN}:blocked:<acct>),
--       12 the per-minute limit counter (P:{sN}:limm:<acct>:<minute>),
--       13 the daily limit counter (P:{sN}:limd:<acct>:<day>); see the
--         limits block below.
-- A request's own KEYS: when it has an idempotency key (ARGV[3] ~= '0'),
--       first the idempotency bucket of now (a hash: digest -> ids), the
--       bucket before it, and the idempotency key of releases before the
--       buckets (a string; the bucket of now itself when the caller no
--       longer looks for those); then one message hash per message.
-- A request's ARGV after its context ordinal, numbered from 1 (the code
-- reads them as ARGV[ka + i]):
--       1 now (unix ms), 2 message count, 3 the request's field in the
--       idempotency buckets ('0': the request has no idempotency key),
--       4 account id, 5 the parent id the keys were built for ('' for none),
--       then 9 fields per message:
--       id, sender, mail_id, source, to, text, coding, parts, price;
--       after them (n = message count): ARGV[6 + 9n] '1' to skip the opt-out
--       check (the Stop rule's own confirmation), ARGV[7 + 9n] when the
--       bucket of now expires (unix ms; '0': the caller knows the bucket has
--       its expiry, see below).
-- A message's price is the caller's (parts x the account's price per part)
-- unless the price table has a prefix of its number: then parts x the price
-- of the longest such prefix.
-- An account's parent never changes; when ARGV[5] is not the account's parent
-- (the caller did not know it yet), nothing is written and the script answers
-- {'parent', parent id} for the caller to run it again with the parent's keys.
-- Opt-outs (optout.go): a recipient on the list that governs the account
-- (its own, or its parent's when share_contacts is in force) is neither
-- queued nor charged: its message hash gets status 'blocked' and price 0 and
-- goes to the blocked log.
-- Returns one reply per request:
--         {'ok', balance, low balance 0/1, recharged amount, priced 0/1, price...,
--          blocked} where blocked (always the last element) is the 1-based
--          indexes of the blocked messages, comma-separated, '' for none
--       | {'optout', number...} (every recipient blocked: only the blocked
--          records were written)
--       | {'dup', ids, balance}
--       | {'bal', balance, currency, total, credit limit, recharge failed 0/1,
--          parent balance, recharge amount, credit_reserved}
--       | {'limit', limit name, limit, used, wanted, retry ms, sender, currency}
--          (limits.go: nothing was written)
--       | {'parent', parent id} | {'nf'} | {'deact'}.

-- Counters (limits and statistics) are added up here and written once at
-- the end of the call; a limit check adds what the call counted so far.
-- A counter's first count (HINCRBY answering its own delta: the field was
-- new) sets its key's expiry, as a direct HINCRBY would.
local counts, countKeys = {}, {}
local function count(key, field, delta, ttl)
  local c = counts[key]
  if not c then
    c = {fields = {}, order = {}, ttl = {}}
    counts[key] = c
    countKeys[#countKeys + 1] = key
  end
  if c.fields[field] == nil then
    c.fields[field] = 0
    c.order[#c.order + 1] = field
    c.ttl[field] = ttl
  end
  c.fields[field] = c.fields[field] + delta
end
local function counted(key, field)
  local c = counts[key]
  return c and c.fields[field] or 0
end
-- Statistics of the day (stats.go reads them): messages, parts and cost
-- per sender; the account's totals are their sums (counting them apart too
-- would cost three more calls per mail on the hot path). Kept 400 days; a
-- sender's first count of the day sets the expiry. Added up by key and
-- sender over the call (stat), and made counters (fields m:, p:, c:
-- <sender>) at its end (statCounts): the field names are built once a
-- sender, not once a mail.
local stats, statKeys = {}, {}
local function stat(key, sender, parts, cost)
  local k = stats[key]
  if not k then
    k = {by = {}, senders = {}}
    stats[key] = k
    statKeys[#statKeys + 1] = key
  end
  local s = k.by[sender]
  if not s then
    s = {0, 0, 0}
    k.by[sender] = s
    k.senders[#k.senders + 1] = sender
  end
  s[1], s[2], s[3] = s[1] + 1, s[2] + parts, s[3] + cost
end
local function statCounts()
  for _, key in ipairs(statKeys) do
    local k = stats[key]
    for _, sender in ipairs(k.senders) do
      local s = k.by[sender]
      count(key, 'm:' .. sender, s[1], 34560000000)
      count(key, 'p:' .. sender, s[2], nil)
      count(key, 'c:' .. sender, s[3], nil)
    end
  end
end

-- Accounts are read once per call and their balances kept here: a request
-- sees the balance the ones before it left, and each account's balance is
-- written once, at the end of the call (one HINCRBY of its change). Nothing
-- else runs meanwhile, so the stored balance is then what this table says.
local ACCT_FIELDS = {'status', 'balance', 'currency', 'parent_id', 'billing', 'credit_limit',
  'recharge_threshold', 'recharge_amount', 'low_balance', 'prices', 'perm_granted', 'perm_enabled',
  'lim_minute', 'lim_parts', 'lim_spend', 'credit_reserved'}
local accts, acctKeys = {}, {}
-- idemSet is the idempotency bucket in which the running request set its
-- field (nil: none); expiring, the buckets this call saw given an expiry.
local idemSet
local expiring = {}
local function account(key)
  local a = accts[key]
  if not a then
    local f = redis.call('HMGET', key, unpack(ACCT_FIELDS))
    a = {f = f, bal = tonumber(f[2]) or 0, delta = 0}
    accts[key] = a
    acctKeys[#acctKeys + 1] = key
  end
  return a
end
-- debit takes amount (negative: adds) from a cached account's balance and
-- returns the balance after.
local function debit(a, amount)
  a.bal, a.delta = a.bal - amount, a.delta - amount
  return a.bal
end

-- The message log takes the call's messages at its end: one entry per
-- account and creation time (unix ms), its field i the entry's message ids
-- comma-separated in accept order (a mail to a group is one entry, and so
-- are the mails of one millisecond in a call), rather than an entry a
-- message. logs[key] is the list of a log's groups in the order met.
local logs, logKeys = {}, {}
-- listFor returns t[key], a new list (its key added to order) when none.
local function listFor(t, order, key)
  local l = t[key]
  if not l then
    l = {}
    t[key] = l
    order[#order + 1] = key
  end
  return l
end
local function logLater(key, ms, id)
  local l = listFor(logs, logKeys, key)
  local g
  for j = #l, 1, -1 do -- the last group first: most often the one
    if l[j].ms == ms then g = l[j] break end
  end
  if not g then
    g = {ms = ms, ids = {}}
    l[#l + 1] = g
  end
  g.ids[#g.ids + 1] = id
end
-- logWrite adds a log's groups oldest first, each at its creation time;
-- when the log already holds a later entry (another instance's clock is
-- ahead), at that entry's ms.
local function logWrite(key, l)
  table.sort(l, function(x, y) return tonumber(x.ms) < tonumber(y.ms) end)
  for _, g in ipairs(l) do
    local ids = table.concat(g.ids, ',')
    local r = redis.pcall('XADD', key, g.ms .. '-*', 'i', ids)
    if type(r) == 'table' and r.err then
      local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
      redis.call('XADD', key, string.match(last[1][1], '^%d+') .. '-*', 'i', ids)
    end
  end
end

-- The messages to queue, by queue key, in order: written at the end of
-- the call, as one entry a queue when grouped (ARGV[3]).
local queued, queueKeys = {}, {}
local function enqueue(key, id)
  local q = listFor(queued, queueKeys, key)
  q[#q + 1] = id
end
-- writeQueued adds the queue entries of the messages enqueued.
local function writeQueued()
  for _, key in ipairs(queueKeys) do
    local q = queued[key]
    if ARGV[3] == '1' and #q > 1 then
      redis.call('XADD', key, '*', 'g', table.concat(q, ','))
    elseif #q > 0 then
      for _, id in ipairs(q) do redis.call('XADD', key, '*', 'm', id) end
    end
  end
end

-- shares reports whether a comma-separated permission list has
-- share_contacts.
local function shares(l) return string.find(',' .. (l or '') .. ',', ',share_contacts,', 1, true) end
-- int formats an amount (a whole number of minor units) for a command: a
-- number given to redis.call is formatted with "%.17g", several times
-- slower than "%d".
local function int(n) return string.format('%d', n) end

-- emptyList[key] is true for an opt-out list this call found empty.
local emptyList = {}
-- NOBLOCK is the (never written) table of blocked messages of a request
-- with none.
local NOBLOCK = {}

-- floor is an account's floor: 0 (prepaid) or -credit_limit (postpaid),
-- raised by the credit it extends to its sub-accounts (credit_reserved).
local function floor(billing, limit, reserved)
  local f = tonumber(reserved) or 0
  if billing == 'postpaid' then f = f - (tonumber(limit) or 0) end
  return f
end

-- recordBlocked writes the blocked messages of the request whose own keys'
-- messages follow KEYS[mk] and whose arguments follow ARGV[ka]: a record,
-- never a queue entry, a ledger entry or a charge.
local function recordBlocked(n, blocked, mk, ka, blockedKey, now)
  for i = 1, n do
    if blocked[i] then
      local b = 5 + (i - 1) * 9
      redis.call('HSET', KEYS[mk + i], 'account_id', ARGV[ka + 4], 'sender', ARGV[ka + b + 2],
        'mail_id', ARGV[ka + b + 3], 'source', ARGV[ka + b + 4], 'to', ARGV[ka + b + 5], 'text', ARGV[ka + b + 6],
        'coding', ARGV[ka + b + 7], 'parts', ARGV[ka + b + 8], 'price', 0, 'status', 'blocked',
        'error', 'recipient has opted out', 'created_at', now, 'done_at', now)
      redis.call('ZADD', blockedKey, now, ARGV[ka + b + 1])
    end
  end
end

-- acceptOne runs the request whose context's keys follow KEYS[ck], whose
-- own keys follow KEYS[kk] and whose arguments follow ARGV[ka].
local function acceptOne(ck, kk, ka)
  local acctKey, ledgerKey, logKey, queueKey, statsKey, pricesKey, pAcctKey, pLedgerKey,
    optKey, pOptKey, blockedKey, limMinute, limDay = unpack(KEYS, ck + 1, ck + 13)
  local a = account(acctKey)
  local acct = a.f
  if not acct[1] or acct[1] == 'deleted' then return {'nf'} end
  if (acct[4] or '') ~= ARGV[ka + 5] then return {'parent', acct[4] or ''} end
  local bal = a.bal
  local before = bal
  local n = tonumber(ARGV[ka + 2])
  local now = ARGV[ka + 1]
  local pkey
  if acct[4] and acct[4] ~= '' then pkey = pAcctKey end
  -- Opt-outs: one HMGET of every recipient on the governing list (none
  -- when the call found the list empty: most accounts have no opt-outs,
  -- and the script writes none). NOBLOCK stands for a request's table of
  -- blocked messages until one is.
  local blocked, nblocked = NOBLOCK, 0
  if ARGV[ka + 6 + 9 * n] ~= '1' then
    local list = optKey
    if pkey then
      if a.share == nil then a.share = (shares(acct[11]) and shares(acct[12])) and true or false end
      if a.share then list = pOptKey end
    end
    if emptyList[list] == nil then emptyList[list] = redis.call('EXISTS', list) == 0 end
    if not emptyList[list] then
      local tos = {}
      for i = 1, n do tos[i] = ARGV[ka + 5 + (i - 1) * 9 + 5] end
      -- unpack() fails past Lua's C stack limit (8000 values,
      -- LUAI_MAXCSTACK), and a mail to a group may carry 10000 recipients:
      -- ask in chunks.
      for c = 1, n, 1000 do
        local last = math.min(c + 999, n)
        local v = redis.call('HMGET', list, unpack(tos, c, last))
        for i = c, last do
          if v[i - c + 1] then
            if blocked == NOBLOCK then blocked = {} end
            blocked[i] = true
            nblocked = nblocked + 1
          end
        end
      end
    end
  end
  -- A replay of an accepted request stays accepted, whatever happened
  -- since. The field is set here, with the ids this request will queue, in
  -- the same call that finds a replay; a request refused below has it
  -- removed again (the loop at the end of the script).
  local field = ARGV[ka + 3]
  -- The message keys follow the idempotency keys, if any.
  local mk = kk
  if field ~= '0' then
    local idemKey, idemPrev, idemLegacy = KEYS[kk + 1], KEYS[kk + 2], KEYS[kk + 3]
    mk = kk + 3
    local ids = redis.call('HGET', idemPrev, field)
    if not ids and idemLegacy ~= idemKey then ids = redis.call('GET', idemLegacy) end
    if not ids then
      local sent
      if n == 1 then
        sent = blocked[1] and '' or ARGV[ka + 6]
      else
        local l = {}
        for i = 1, n do
          if not blocked[i] then l[#l + 1] = ARGV[ka + 5 + (i - 1) * 9 + 1] end
        end
        sent = table.concat(l, ',')
      end
      if redis.call('HSETNX', idemKey, field, sent) == 0 then
        ids = redis.call('HGET', idemKey, field)
      else
        idemSet = idemKey
        -- A bucket gets its expiry (the same time from every writer, one a
        -- window) from the first writer that finds it without one: just
        -- made, or made again after a failover lost it. The caller passes
        -- '0' instead of the time for a bucket it saw checked within the
        -- last minute (accept.go); a call checks each bucket once.
        local exp = ARGV[ka + 7 + 9 * n]
        if exp ~= '0' and not expiring[idemSet] then
          if redis.call('PTTL', idemSet) == -1 then redis.call('PEXPIREAT', idemSet, exp) end
          expiring[idemSet] = true
        end
      end
    end
    if ids then return {'dup', ids, bal} end
  end
  if acct[1] ~= 'active' then return {'deact'} end
  -- A deactivated parent stops its sub-accounts.
  local pa, par
  if pkey then
    pa = account(pkey)
    par = pa.f
    if par[1] ~= 'active' then return {'deact'} end
  end
  if nblocked == n then
    recordBlocked(n, blocked, mk, ka, blockedKey, now)
    local out = {'optout'}
    for i = 1, n do out[i + 1] = ARGV[ka + 5 + (i - 1) * 9 + 5] end
    return out
  end
  local priced = acct[10] == '1' -- set with the table (money_prices.lua)
  local prices = {}
  local total = 0
  for i = 0, n - 1 do
    local b = 5 + i * 9
    local price = tonumber(ARGV[ka + b + 9])
    if blocked[i + 1] then
      price = 0
    elseif priced then
      local to = ARGV[ka + b + 5]
      local fields = {}
      for l = 1, math.min(#to, 15) do fields[l] = string.sub(to, 1, l) end
      if #fields > 0 then
        local v = redis.call('HMGET', pricesKey, unpack(fields))
        for l = #fields, 1, -1 do
          if v[l] then
            price = tonumber(v[l]) * tonumber(ARGV[ka + b + 8])
            break
          end
        end
      end
    end
    prices[i + 1] = price
    total = total + price
  end
  -- >>> limits (accounts/limits.go, messages/limits.go): per sender per
  -- UTC minute (fixed window), parts and spend per UTC day. Checked before
  -- any write, so a refused mail is neither charged nor counted; counted
  -- below with the charge, so a charged mail always counts.
  local limRate, limParts, limSpend = tonumber(acct[13]) or 0, tonumber(acct[14]) or 0, tonumber(acct[15]) or 0
  -- The messages per sender are needed only to check a per-minute limit.
  local limBySender, limSenders, limNParts = nil, nil, 0
  if limRate > 0 then limBySender, limSenders = {}, {} end
  for i = 0, n - 1 do
    if not blocked[i + 1] then
      local b = 5 + i * 9
      if limBySender then
        local sender = ARGV[ka + b + 2]
        if not limBySender[sender] then
          limBySender[sender] = 0
          limSenders[#limSenders + 1] = sender
        end
        limBySender[sender] = limBySender[sender] + 1
      end
      limNParts = limNParts + tonumber(ARGV[ka + b + 8])
    end
  end
  do
    local t = tonumber(now)
    if limRate > 0 then
      local used = redis.call('HMGET', limMinute, unpack(limSenders))
      for i, sender in ipairs(limSenders) do
        local u = (tonumber(used[i]) or 0) + counted(limMinute, sender)
        if u + limBySender[sender] > limRate then
          return {'limit', 'per_minute', limRate, u, limBySender[sender], 60000 - t % 60000, sender, acct[3] or ''}
        end
      end
    end
    if limParts > 0 or limSpend > 0 then
      local used = redis.call('HMGET', limDay, 'p', 's')
      local left = 86400000 - t % 86400000
      local up = (tonumber(used[1]) or 0) + counted(limDay, 'p')
      local us = (tonumber(used[2]) or 0) + counted(limDay, 's')
      if limParts > 0 and up + limNParts > limParts then
        return {'limit', 'parts_per_day', limParts, up, limNParts, left, '', acct[3] or ''}
      end
      if limSpend > 0 and us + total > limSpend then
        return {'limit', 'spend_per_day', limSpend, us, total, left, '', acct[3] or ''}
      end
    end
  end
  -- <<< limits
  local fl = floor(acct[5], acct[6], acct[16])
  local after = bal - total
  -- Auto-recharge from the parent when the debit leaves the balance below the
  -- threshold: one recharge amount, or the smallest multiple of it that covers
  -- the send, if the parent can pay it above its own floor.
  local recharge = 0
  local ramt = tonumber(acct[8]) or 0
  if ramt > 0 and par and after < (tonumber(acct[7]) or 0) then
    local k = 1
    if after < fl then k = math.ceil((fl - after) / ramt) end
    local want = k * ramt
    local pbal = pa.bal
    if pbal - want >= floor(par[5], par[6], par[16]) then
      recharge = want
    elseif after < fl then
      return {'bal', bal, acct[3] or '', total, floor(acct[5], acct[6], 0) * -1, 1, pbal, want, tonumber(acct[16]) or 0}
    end
  end
  if after + recharge < fl then
    return {'bal', bal, acct[3] or '', total, floor(acct[5], acct[6], 0) * -1, 0, 0, 0, tonumber(acct[16]) or 0}
  end
  if recharge > 0 then
    local pb = debit(pa, recharge)
    redis.call('XADD', pLedgerKey, '*', 'amount', 0 - recharge, 'balance', pb,
      'kind', 'recharge_out', 'ref', ARGV[ka + 4], 'actor', 'auto-recharge', 'at', now, 'peer', ARGV[ka + 4])
    bal = debit(a, 0 - recharge)
    redis.call('XADD', ledgerKey, '*', 'amount', recharge, 'balance', bal,
      'kind', 'recharge_in', 'ref', acct[4], 'actor', 'auto-recharge', 'at', now, 'peer', acct[4])
  end
  if nblocked > 0 then recordBlocked(n, blocked, mk, ka, blockedKey, now) end
  for i = 0, n - 1 do
    local b = 5 + i * 9
    local id, sender, price = ARGV[ka + b + 1], ARGV[ka + b + 2], prices[i + 1]
    if not blocked[i + 1] then
      bal = bal - price
      local ps = int(price)
      redis.call('XADD', ledgerKey, '*', 'amount', int(0 - price), 'balance', int(bal), 'kind', 'send',
        'ref', id, 'actor', sender, 'at', now)
      local mkey = KEYS[mk + i + 1]
      redis.call('HSET', mkey, 'account_id', ARGV[ka + 4], 'sender', sender,
        'mail_id', ARGV[ka + b + 3], 'source', ARGV[ka + b + 4], 'to', ARGV[ka + b + 5], 'text', ARGV[ka + b + 6],
        'parts', ARGV[ka + b + 8], 'price', ps, 'status', 'queued', 'created_at', now)
      -- coding 0 (GSM 7-bit, the common case) is the absent field's value.
      if ARGV[ka + b + 7] ~= '0' then redis.call('HSET', mkey, 'coding', ARGV[ka + b + 7]) end
      logLater(logKey, now, id)
      enqueue(queueKey, id)
      -- >>> limits: count what was charged (always, so that a limit set
      -- later sees today's sends).
      count(limMinute, sender, 1, 120000)
      -- <<< limits
      stat(statsKey, sender, tonumber(ARGV[ka + b + 8]), price)
    end
  end
  -- >>> limits
  count(limDay, 'p', limNParts, 172800000)
  count(limDay, 's', total, nil)
  -- <<< limits
  bal = debit(a, total)
  local lb = tonumber(acct[9]) or 0
  local low = 0
  if lb > 0 and before >= lb and bal < lb then low = 1 end
  local out = {'ok', bal, low, recharge, 0}
  if priced then
    out[5] = 1
    for i = 1, n do out[5 + i] = prices[i] end
  end
  local bl = ''
  if nblocked > 0 then
    local l = {}
    for i = 1, n do
      if blocked[i] then l[#l + 1] = i end
    end
    bl = table.concat(l, ',')
  end
  out[#out + 1] = bl
  return out
end

local out = {}
local ka, kk = 3, 13 * tonumber(ARGV[2])
for r = 1, tonumber(ARGV[1]) do
  local ck = 13 * (tonumber(ARGV[ka + 1]) - 1)
  ka = ka + 1
  local n = tonumber(ARGV[ka + 2])
  idemSet = nil
  -- The messages queued so far, to write if this request fails midway.
  local nq, marks = #queueKeys, {}
  for i = 1, nq do marks[i] = #queued[queueKeys[i]] end
  local ok, res = pcall(acceptOne, ck, kk, ka)
  if not ok then
    -- A request that fails midway (a wrongly typed key, a bug) aborts the
    -- call with its error, as it always did, the requests before it
    -- written whole: their queue entries (deferred to the end of the call)
    -- are written first, without this request's messages; a retry of
    -- those requests is a replay of messages that are queued.
    for i = #queueKeys, nq + 1, -1 do
      queued[queueKeys[i]] = nil
      queueKeys[i] = nil
    end
    for i = 1, nq do
      local q = queued[queueKeys[i]]
      for j = #q, marks[i] + 1, -1 do q[j] = nil end
    end
    writeQueued()
    error(res)
  end
  out[r] = res
  if idemSet and out[r][1] ~= 'ok' then
    redis.call('HDEL', idemSet, ARGV[ka + 3])
    expiring[idemSet] = nil -- the bucket may be gone with it
  end
  kk = kk + n
  if ARGV[ka + 3] ~= '0' then kk = kk + 3 end
  ka = ka + 7 + 9 * n
end
writeQueued()
for _, key in ipairs(logKeys) do logWrite(key, logs[key]) end
statCounts()
for _, key in ipairs(acctKeys) do
  local d = accts[key].delta
  if d ~= 0 then redis.call('HINCRBY', key, 'balance', d) end
end
for _, key in ipairs(countKeys) do
  local c = counts[key]
  for _, field in ipairs(c.order) do
    local d = c.fields[field]
    if redis.call('HINCRBY', key, field, d) == d and c.ttl[field] then
      redis.call('PEXPIRE', key, c.ttl[field])
    end
  end
end
return out
