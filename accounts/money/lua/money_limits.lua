-- Set an account's sending limits (package accounts, limits.go) in its hash,
-- where the accept script reads them; 0 removes a limit (unlimited).
-- KEYS[1] account hash
-- ARGV per minute, parts per day, spend per day
-- Returns 1, or 0 when the account does not exist or is deleted.
local st = redis.call('HGET', KEYS[1], 'status')
if not st or st == 'deleted' then return 0 end
local f = {'lim_minute', 'lim_parts', 'lim_spend'}
for i = 1, 3 do
  if ARGV[i] == '0' then
    redis.call('HDEL', KEYS[1], f[i])
  else
    redis.call('HSET', KEYS[1], f[i], ARGV[i])
  end
end
return 1
