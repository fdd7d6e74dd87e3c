-- submit.lua: record a batch of successful submissions of one shard and take
-- their entries off the queue, atomically per entry and idempotently (the
-- caller runs the batch again after an error).
-- KEYS: 1 the shard's queue stream, 2.. one message hash per entry.
-- ARGV: 1 consumer group, 2 submitted_at (unix ms), 3 the number G of
--       grouped entries to acknowledge, 4..3+G their stream ids, then 3
--       fields per submission: stream id ('' for a member of a grouped
--       entry), link, first SMSC id.
-- A message of an entry of its own is recorded only if XACK takes the entry
-- off the group's pending list: one that is no longer pending was recorded
-- already (a batch run again) or by the consumer that claimed it, and is
-- left alone. A member of a grouped entry (its consumer acknowledges the
-- entry, in this call or a later one, once every member is settled) is
-- recorded unless it has a submitted_at already: it is submitted only once
-- from a grouped entry (a retry comes back as an entry of its own), so
-- that is the same record made before. Recording: the message becomes
-- submitted unless a receipt that raced ahead set a final status (kept);
-- link, SMSC id, submitted_at and one more attempt are set; an error of an
-- earlier attempt and the parts' resume state are dropped (the parts' ids
-- are in the SMSC-id index). A missing message is only acknowledged.
-- Acknowledged entries are trimmed from the stream (below).
-- Returns the number of submissions recorded.
local group, now, ng = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = (#ARGV - 3 - ng) / 3
local acked, recorded = 0, 0
for i = 1, ng do
  acked = acked + redis.call('XACK', KEYS[1], group, ARGV[3 + i])
end
for i = 1, n do
  local b = 3 + ng + (i - 1) * 3
  local sid, key = ARGV[b + 1], KEYS[1 + i]
  local record = sid == ''
  if not record then
    record = redis.call('XACK', KEYS[1], group, sid) == 1
    if record then acked = acked + 1 end
  end
  if record then
    local f = redis.call('HMGET', key, 'status', 'attempts', 'error', 'part_ids', 'submitted_at')
    if f[1] and not (sid == '' and f[5]) then
      local st = f[1]
      if st == 'queued' or st == 'submitted' then
        st = 'submitted'
        if f[3] or f[4] then redis.call('HDEL', key, 'error', 'part_ids') end
      end
      redis.call('HSET', key, 'status', st, 'link', ARGV[b + 2], 'smsc_id', ARGV[b + 3],
        'submitted_at', now, 'attempts', string.format('%d', (tonumber(f[2]) or 0) + 1))
      recorded = recorded + 1
    end
  end
end
-- Acknowledged entries leave the stream by one trim rather than a delete
-- per entry: every entry before the oldest still pending one (or, with none
-- pending, up to the last one read) has been acknowledged. Entries read
-- later and acknowledged already stay until the older ones are (QueueStats
-- counts pending and unread entries, not the stream's length).
if acked > 0 then
  local minid
  local p = redis.call('XPENDING', KEYS[1], group)
  if p[1] > 0 then
    minid = p[2]
  else
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
      local info = {}
      for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
      if info['name'] == group then
        local ms, seq = string.match(info['last-delivered-id'], '^(%d+)-(%d+)$')
        minid = ms .. '-' .. string.format('%.0f', tonumber(seq) + 1)
      end
    end
  end
  if minid then redis.call('XTRIM', KEYS[1], 'MINID', minid) end
end
return recorded
