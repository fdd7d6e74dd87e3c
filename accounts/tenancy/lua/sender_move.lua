-- Move a dedicated number from one account to another of the same tree, only
-- if it is where the caller thinks (package accounts, senders.go).
-- KEYS[1] P:number:<digits>; ARGV[1] expected owner; ARGV[2] new owner.
-- Returns the owner before the call ("" if the number is nobody's); the
-- number moved if and only if that equals ARGV[1].
local cur = redis.call('GET', KEYS[1])
if not cur then return '' end
if cur == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) end
return cur
