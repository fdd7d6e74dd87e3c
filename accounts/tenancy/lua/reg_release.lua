-- Delete a registration (P:domain:<d> or P:addr:<a>) only if it belongs to
-- the given account (package accounts, registry.go).
-- KEYS[1] registration key; ARGV[1] account id. Returns 1 if deleted, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
