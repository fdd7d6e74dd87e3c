-- Set a sub-account's permission flags (package accounts, flags.go).
-- KEYS[1] account hash.
-- ARGV[1] mode: "parent" (sets granted and enabled) or "self" (the
--         sub-account's own admin: enabled only, within the stored granted)
-- ARGV[2] "1" if granted is given, ARGV[3] granted, comma list (sorted)
-- ARGV[4] "1" if enabled is given, ARGV[5] enabled, comma list (sorted)
-- Returns {"ok"}, {"notfound"}, {"root"}, {"grant"} (self mode changing
-- granted) or {"notgranted", flag} (enabled outside granted). The check and
-- the write are one script: a concurrent grant change cannot slip between.
local function split(s)
  local list, set = {}, {}
  for f in string.gmatch(s or '', '[^,]+') do
    list[#list + 1] = f
    set[f] = true
  end
  return list, set
end

local h = redis.call('HMGET', KEYS[1], 'id', 'parent_id', 'perm_granted', 'perm_enabled')
if not h[1] then return {'notfound'} end
if not h[2] or h[2] == '' then return {'root'} end
local storedG = h[3] or ''
local storedE = h[4] or ''

local granted = storedG
if ARGV[2] == '1' then
  if ARGV[1] ~= 'parent' then
    if ARGV[3] ~= storedG then return {'grant'} end
  end
  granted = ARGV[3]
end
local _, gset = split(granted)

local enabled
if ARGV[4] == '1' then
  local list = split(ARGV[5])
  for _, f in ipairs(list) do
    if not gset[f] then return {'notgranted', f} end
  end
  enabled = ARGV[5]
else
  -- Kept: clipped to the (possibly narrower) granted list.
  local list = split(storedE)
  local kept = {}
  for _, f in ipairs(list) do
    if gset[f] then kept[#kept + 1] = f end
  end
  enabled = table.concat(kept, ',')
end

redis.call('HSET', KEYS[1], 'perm_granted', granted, 'perm_enabled', enabled)
return {'ok'}
