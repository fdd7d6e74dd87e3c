package messages

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts/store"
)

//go:embed lua/pool_pick.lua
var poolPickLua string

var poolPickScript = store.NewScript("messages/pool_pick.lua", poolPickLua)

// PickPoolSources picks, for each phone, a shared source number from pool
// for the conversation of (accountID, sender) with that phone: sticky (the
// same number while the conversation lasts, ttl after its last send), and
// never a number whose conversation with that phone another account or
// sender holds. So a reply (or STOP) to a pool number always reaches the
// one account and sender that texted that phone from it. A phone for which
// every pool number is held by others gets "" (the pool is exhausted for
// it). One round trip for all phones.
func (s *Store) PickPoolSources(ctx context.Context, accountID, sender string, phones, pool []string, ttl time.Duration) ([]string, error) {
	owner := accountID + " " + sender
	sum := sha256.Sum256([]byte(owner))
	ownerKey := hex.EncodeToString(sum[:12])
	ms := ttl.Milliseconds()
	build := func(pipe redis.Pipeliner) []*redis.Cmd {
		cmds := make([]*redis.Cmd, len(phones))
		for i, ph := range phones {
			keys := make([]string, 0, len(pool)+1)
			keys = append(keys, s.Keys.PoolSticky(ph, ownerKey))
			args := make([]any, 0, len(pool)+2)
			args = append(args, owner, ms)
			for _, n := range pool {
				keys = append(keys, s.Keys.PoolOwner(ph, n))
				args = append(args, n)
			}
			cmds[i] = s.EvalSha(ctx, pipe, poolPickScript, keys, args...)
		}
		return cmds
	}
	for try := 0; ; try++ {
		var cmds []*redis.Cmd
		all, err := s.RDB.Pipelined(ctx, func(pipe redis.Pipeliner) error { cmds = build(pipe); return nil })
		if err != nil && !errors.Is(err, redis.Nil) {
			if try > 0 || !pipelineNoScript(all) {
				return nil, fmt.Errorf("pick pool sources: %w", err)
			}
			if err := s.Load(ctx, poolPickScript); err != nil {
				return nil, fmt.Errorf("pick pool sources: %w", err)
			}
			continue
		}
		out := make([]string, len(phones))
		for i, c := range cmds {
			v, err := c.Text()
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, fmt.Errorf("pick pool source: %w", err)
			}
			out[i] = v
		}
		return out, nil
	}
}
