package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// GetAccount returns the account with id. Unknown and malformed ids give
// ErrNotFound.
func (s *DB) GetAccount(ctx context.Context, id string) (*accounts.Account, error) {
	key, err := s.AcctKey(id)
	if err != nil {
		return nil, err
	}
	h, err := s.RDB.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("get account %s: %w", id, err)
	}
	return accounts.AccountFromHash(id, h)
}

// AcctActive loads an account and fails with ErrDeactivated if it or its
// parent is deactivated.
func (s *DB) AcctActive(ctx context.Context, id string) (*accounts.Account, error) {
	a, _, err := s.AcctActiveParent(ctx, id)
	return a, err
}

// AcctActiveParent is AcctActive that also returns fields of the parent's
// hash, read in the same HMGET as its status ("" for a root account or an
// absent field).
func (s *DB) AcctActiveParent(ctx context.Context, id string, parentFields ...string) (*accounts.Account, []string, error) {
	a, err := s.GetAccount(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if a.Status != accounts.StatusActive {
		return nil, nil, fmt.Errorf("account %s: %w", a.ID, accounts.ErrDeactivated)
	}
	extra := make([]string, len(parentFields))
	if a.ParentID != "" {
		key, err := s.AcctKey(a.ParentID)
		if err != nil {
			return nil, nil, fmt.Errorf("account %s: parent: %w", a.ID, err)
		}
		vals, err := s.RDB.HMGet(ctx, key, append([]string{"status"}, parentFields...)...).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("account %s: parent status: %w", a.ID, err)
		}
		if st, _ := vals[0].(string); accounts.Status(st) != accounts.StatusActive {
			return nil, nil, fmt.Errorf("account %s: parent %s: %w", a.ID, a.ParentID, accounts.ErrDeactivated)
		}
		for i := range extra {
			extra[i], _ = vals[i+1].(string)
		}
	}
	return a, extra, nil
}

// AcctKey returns the hash key of account id, or ErrNotFound for an id that
// is not an account id of this deployment.
func (s *DB) AcctKey(id string) (string, error) {
	if !strings.HasPrefix(id, "a") {
		return "", fmt.Errorf("account %q: %w", id, accounts.ErrNotFound)
	}
	shard, err := s.ShardFromID(id)
	if err != nil {
		return "", err
	}
	return s.Keys.Account(shard, id), nil
}

// AcctLoadMany loads the accounts named by ids in one pipeline, skips ids
// without a record, and sorts by name then id.
func (s *DB) AcctLoadMany(ctx context.Context, ids []string) ([]*accounts.Account, error) {
	pipe := s.RDB.Pipeline()
	cmds := make(map[string]*redis.MapStringStringCmd, len(ids))
	for _, id := range ids {
		key, err := s.AcctKey(id)
		if err != nil {
			continue
		}
		cmds[id] = pipe.HGetAll(ctx, key)
	}
	if len(cmds) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("load accounts: %w", err)
		}
	}
	out := make([]*accounts.Account, 0, len(cmds))
	for id, c := range cmds {
		a, err := accounts.AccountFromHash(id, c.Val())
		if errors.Is(err, accounts.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y *accounts.Account) int {
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out, nil
}
