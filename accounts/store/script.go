package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// Script is a Lua script of the store. Every script declares every key it
// touches in KEYS (so that Redis Cluster routes it and a reader of the Go
// side sees its whole footprint); DB.Run can check that it does.
// A Script is immutable.
type Script struct {
	name    string
	plain   *redis.Script
	guarded *redis.Script
	// The sources of plain and guarded, for EVAL after NOSCRIPT.
	plainSrc, guardedSrc string
}

// NewScript returns the script src, named for its file (e.g.
// "messages/accept.lua") in errors of the key guard.
func NewScript(name, src string) *Script {
	g := guardPrelude(name) + src
	return &Script{name: name, plain: redis.NewScript(src), guarded: redis.NewScript(g), plainSrc: src, guardedSrc: g}
}

// Name returns the script's name.
func (sc *Script) Name() string { return sc.name }

// The key positions of every command the scripts use: keysAll take keys
// only, keysFirst one key as their first argument, keysSecond one key as
// their second (after a subcommand). A command in none of the lists
// fails the guard, so that a new command gets a deliberate entry.
const (
	keysAll   = "DEL EXISTS UNLINK MGET"
	keysFirst = "GET SET SETNX INCR INCRBY EXPIRE PEXPIRE PEXPIREAT PTTL TTL " +
		"HGET HSET HSETNX HMGET HGETALL HDEL HEXISTS HINCRBY HLEN HVALS HKEYS " +
		"SADD SREM SMEMBERS SISMEMBER SCARD " +
		"ZADD ZREM ZRANGEBYSCORE ZREMRANGEBYSCORE ZCARD ZSCORE " +
		"XADD XACK XDEL XLEN XRANGE XREVRANGE XTRIM XPENDING LPUSH LTRIM LRANGE LLEN LINDEX RPOP"
	keysSecond = "XINFO"
)

// guardPrelude is the Lua put before a script under the key guard, on one
// line so that the script's own line numbers move by one only. Its local
// "redis" shadows the global for the rest of the chunk: call and pcall check
// every key argument against KEYS before calling the real redis, and raise
// an error naming the script, the command and the key otherwise. Before the
// script runs, the guard also checks that all of KEYS hash to one slot (the
// same hash tag, or one untagged key), as a Redis Cluster requires; a single
// Redis would run a script that breaks that rule and a cluster refuse it.
func guardPrelude(name string) string {
	var table strings.Builder
	for _, c := range strings.Fields(keysAll) {
		fmt.Fprintf(&table, "%s='all',", c)
	}
	for _, c := range strings.Fields(keysFirst) {
		fmt.Fprintf(&table, "%s='first',", c)
	}
	for _, c := range strings.Fields(keysSecond) {
		fmt.Fprintf(&table, "%s='second',", c)
	}
	return "local redis = (function(real, keys) " +
		"local declared, pos = {}, {" + table.String() + "} " +
		"for _, k in ipairs(keys) do declared[k] = true end " +
		"local function slot(k) local s = string.find(k, '{', 1, true) " +
		"if s then local e = string.find(k, '}', s + 1, true) if e and e > s + 1 then return string.sub(k, s + 1, e - 1) end end return k end " +
		"for i = 2, #keys do if slot(keys[i]) ~= slot(keys[1]) then " +
		"error(real.error_reply('ERR key guard: " + name + ": KEYS ' .. keys[1] .. ' and ' .. keys[i] .. ' are in different hash slots (CROSSSLOT on a Redis Cluster)'), 0) end end " +
		"local function check(cmd, ...) " +
		"local c = string.upper(tostring(cmd)) local p = pos[c] " +
		"if not p then error(real.error_reply('ERR key guard: " + name + ": command ' .. c .. ' has no key positions'), 0) end " +
		"local from, n = 1, select('#', ...) if p == 'first' then n = math.min(n, 1) elseif p == 'second' then from, n = 2, math.min(n, 2) end " +
		"for i = from, n do local k = tostring((select(i, ...))) " +
		"if not declared[k] then error(real.error_reply('ERR key guard: " + name + ": ' .. c .. ' touches ' .. k .. ', which is not in KEYS'), 0) end end end " +
		"return setmetatable({call = function(cmd, ...) check(cmd, ...) return real.call(cmd, ...) end, " +
		"pcall = function(cmd, ...) check(cmd, ...) return real.pcall(cmd, ...) end}, {__index = real}) " +
		"end)(redis, KEYS)\n"
}

// script returns the version of sc this DB runs and reports it to
// Options.OnScript.
func (s *DB) script(sc *Script) *redis.Script {
	if s.onScript != nil {
		s.onScript(sc.name)
	}
	if s.keyGuard {
		return sc.guarded
	}
	return sc.plain
}

// source returns the text of the version of sc this DB runs.
func (s *DB) source(sc *Script) string {
	if s.keyGuard {
		return sc.guardedSrc
	}
	return sc.plainSrc
}

// Run runs sc with keys and args (EVALSHA, and EVAL when Redis does not
// have it cached). Every script of the store runs through Run or EvalSha,
// so that the key guard applies to all of them.
//
// A script call is never re-sent by the Redis client: one that timed out
// may have run, and running it again would accept a mail twice or move
// money twice (the client's retries stay on for everything else). The
// caller gets the error; EVAL after NOSCRIPT is safe, the EVALSHA having
// run nothing.
func (s *DB) Run(ctx context.Context, sc *Script, keys []string, args ...any) *redis.Cmd {
	scr := s.script(sc)
	c := s.runOnce(ctx, "evalsha", scr.Hash(), keys, args)
	if isNoScriptErr(c.Err()) {
		c = s.runOnce(ctx, "eval", s.source(sc), keys, args)
	}
	return c
}

// RunReplicated runs sc like Run and then, when MinReplicasAck is set,
// waits (WAIT, on the same connection, in one round trip with the script)
// until that many replicas have the script's writes. Fewer in
// ReplicaAckTimeout is an error matching accounts.ErrNotReplicated; the
// script's result is in the returned command either way (it ran on the
// master).
func (s *DB) RunReplicated(ctx context.Context, sc *Script, keys []string, args ...any) (*redis.Cmd, error) {
	if s.minReplicas <= 0 {
		return s.Run(ctx, sc, keys, args...), nil
	}
	scr := s.script(sc)
	// WAIT counts the replicas of the server it is sent to, on the
	// connection it is sent on: on a cluster, the master of the script's
	// slot (a cluster pipeline would send a keyless WAIT to any node).
	var conn redis.Cmdable = s.RDB
	if cc, ok := s.RDB.(*redis.ClusterClient); ok && len(keys) > 0 {
		master, err := cc.MasterForKey(ctx, keys[0])
		if err != nil { // nothing ran: the script's error
			c := redis.NewCmd(ctx)
			c.SetErr(fmt.Errorf("run %s: find the master of %s: %w", sc.name, keys[0], err))
			return c, nil
		}
		conn = master
	}
	var c *redis.Cmd
	var wait *redis.IntCmd
	var changes int64
	settled := true
	if s.masterState != nil {
		changes, settled = s.masterState()
	}
	run := func(cmd, script string) {
		_, _ = conn.Pipelined(ctx, func(p redis.Pipeliner) error {
			c = scriptCmd(ctx, cmd, script, keys, args)
			_ = p.Process(ctx, noRetry{c})
			wait = redis.NewIntCmd(ctx, "wait", s.minReplicas, s.replicaWait.Milliseconds())
			_ = p.Process(ctx, wait)
			return nil
		})
	}
	run("evalsha", scr.Hash())
	if isNoScriptErr(c.Err()) {
		run("eval", s.source(sc))
	}
	if c.Err() != nil {
		return c, nil // the script's own error: nothing to wait for
	}
	if n, err := wait.Result(); err != nil {
		return c, fmt.Errorf("%w: waiting for %d replicas: %w", accounts.ErrNotReplicated, s.minReplicas, err)
	} else if n < int64(s.minReplicas) {
		return c, fmt.Errorf("%w: %d of %d replicas within %s", accounts.ErrNotReplicated, n, s.minReplicas, s.replicaWait)
	}
	if s.masterState != nil {
		now, settledNow := s.masterState()
		if !settled || !settledNow || now != changes {
			return c, fmt.Errorf("%w: the Redis master changed lately (the old one may have run it)", accounts.ErrNotReplicated)
		}
	}
	return c, nil
}

// scriptCmd builds an EVAL or EVALSHA command.
func scriptCmd(ctx context.Context, cmd, script string, keys []string, args []any) *redis.Cmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, cmd, script, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	a = append(a, args...)
	return redis.NewCmd(ctx, a...)
}

// runOnce sends one EVAL or EVALSHA that the client does not retry.
func (s *DB) runOnce(ctx context.Context, cmd, script string, keys []string, args []any) *redis.Cmd {
	c := scriptCmd(ctx, cmd, script, keys, args)
	_ = s.RDB.Process(ctx, noRetry{c})
	return c
}

// noRetry marks a command the client must not send a second time.
type noRetry struct{ *redis.Cmd }

func (noRetry) NoRetry() bool { return true }

// isNoScriptErr reports a NOSCRIPT reply.
func isNoScriptErr(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// EvalSha queues sc in a pipeline by its SHA only; on NOSCRIPT the caller
// loads it (Load) and runs the pipeline again.
func (s *DB) EvalSha(ctx context.Context, pipe redis.Pipeliner, sc *Script, keys []string, args ...any) *redis.Cmd {
	return s.script(sc).EvalSha(ctx, pipe, keys, args...)
}

// RunChecked runs sc like Run and returns its array reply. A script whose
// keys were computed from data read before it (see Optimistic) answers
// "retry" when that data changed in between: RunChecked returns ErrChanged
// then, so that Optimistic prepares the step again.
func (s *DB) RunChecked(ctx context.Context, sc *Script, keys []string, args ...any) ([]string, error) {
	res, err := s.Run(ctx, sc, keys, args...).StringSlice()
	if err != nil {
		return nil, err
	}
	if len(res) > 0 && res[0] == "retry" {
		return nil, ErrChanged
	}
	return res, nil
}

// Load puts sc into Redis's script cache.
func (s *DB) Load(ctx context.Context, sc *Script) error {
	if err := s.script(sc).Load(ctx, s.RDB).Err(); err != nil {
		return fmt.Errorf("load script %s: %w", sc.name, err)
	}
	return nil
}

// ScriptRetries bounds how often Optimistic prepares an operation again.
const ScriptRetries = 5

// ErrChanged is what a step of Optimistic returns when its script found
// that the data the keys were computed from changed in between (the script
// answered "retry" and wrote nothing).
var ErrChanged = errors.New("data changed while the script's keys were computed")

// Optimistic runs step, which reads what a script's keys depend on (the
// members of a set, say) and runs the script with those keys, until step
// returns something other than ErrChanged, at most ScriptRetries times.
func Optimistic(ctx context.Context, what string, step func(ctx context.Context) error) error {
	for try := 1; ; try++ {
		err := step(ctx)
		if !errors.Is(err, ErrChanged) {
			return err
		}
		if try == ScriptRetries {
			return fmt.Errorf("%s: gave up after %d tries: %w", what, try, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
}
