package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// QuotasOf returns the quotas of account id: the operator's overrides for
// its tree (stored on the root account, field quotas), else the defaults.
func (s *DB) QuotasOf(ctx context.Context, id string) (accounts.Quotas, error) {
	key, err := s.AcctKey(id)
	if err != nil {
		return accounts.Quotas{}, err
	}
	v, err := s.RDB.HMGet(ctx, key, "parent_id", "quotas").Result()
	if err != nil {
		return accounts.Quotas{}, fmt.Errorf("quotas of %s: %w", id, err)
	}
	raw, _ := v[1].(string)
	if parent, _ := v[0].(string); parent != "" {
		pkey, err := s.AcctKey(parent)
		if err != nil {
			return accounts.Quotas{}, err
		}
		raw, err = s.RDB.HGet(ctx, pkey, "quotas").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return accounts.Quotas{}, fmt.Errorf("quotas of %s: %w", id, err)
		}
	}
	q, err := decodeQuotas(id, raw)
	return q.Or(s.Quotas), err
}

// decodeQuotas reads the stored overrides of account id ("": none).
func decodeQuotas(id, raw string) (accounts.Quotas, error) {
	var q accounts.Quotas
	if raw == "" {
		return q, nil
	}
	if err := json.Unmarshal([]byte(raw), &q); err != nil {
		return accounts.Quotas{}, fmt.Errorf("quotas of %s: %w", id, err)
	}
	return q, nil
}

// SetQuotas stores the operator's quota overrides for root account id and
// its sub-accounts (zero: the default) and returns the quotas in force.
func (s *DB) SetQuotas(ctx context.Context, id string, q accounts.Quotas) (accounts.Quotas, error) {
	if err := q.Validate(); err != nil {
		return accounts.Quotas{}, err
	}
	key, err := s.AcctKey(id)
	if err != nil {
		return accounts.Quotas{}, err
	}
	parent, err := s.RDB.HGet(ctx, key, "parent_id").Result()
	switch {
	case errors.Is(err, redis.Nil):
		return accounts.Quotas{}, fmt.Errorf("account %q: %w", id, accounts.ErrNotFound)
	case err != nil:
		return accounts.Quotas{}, fmt.Errorf("set quotas of %s: %w", id, err)
	case parent != "":
		return accounts.Quotas{}, accounts.Invalidf("account: %s is a sub-account; quotas are set on its parent %s for the whole tree", id, parent)
	}
	b, _ := json.Marshal(q)
	if err := s.RDB.HSet(ctx, key, "quotas", string(b)).Err(); err != nil {
		return accounts.Quotas{}, fmt.Errorf("set quotas of %s: %w", id, err)
	}
	return q.Or(s.Quotas), nil
}

// QuotaOverrides returns the operator's stored overrides of root account id
// (zero: the default).
func (s *DB) QuotaOverrides(ctx context.Context, id string) (accounts.Quotas, error) {
	key, err := s.AcctKey(id)
	if err != nil {
		return accounts.Quotas{}, err
	}
	raw, err := s.RDB.HGet(ctx, key, "quotas").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return accounts.Quotas{}, fmt.Errorf("quotas of %s: %w", id, err)
	}
	return decodeQuotas(id, raw)
}

// QuotaUsage returns, per quota, how much of it account id uses and its
// limit (webhooks' usage is the webhook service's, left at 0 here).
func (s *DB) QuotaUsage(ctx context.Context, id string) (map[string]accounts.QuotaUse, error) {
	q, err := s.QuotasOf(ctx, id)
	if err != nil {
		return nil, err
	}
	shard, _ := s.ShardFromID(id)
	now := strconv.FormatInt(s.Now().UnixMilli(), 10)
	pipe := s.RDB.Pipeline()
	counts := map[string]*redis.IntCmd{
		accounts.QuotaContacts:    pipe.ZCard(ctx, s.Keys.ContactNumbers(shard, id)),
		accounts.QuotaGroups:      pipe.HLen(ctx, s.Keys.Groups(shard, id)),
		accounts.QuotaTemplates:   pipe.HLen(ctx, s.Keys.Templates(shard, id)),
		accounts.QuotaKeys:        pipe.SCard(ctx, s.Keys.APIKeys(shard, id)),
		accounts.QuotaInvitations: pipe.ZCount(ctx, s.Keys.Invitations(shard, id), now, "+inf"),
		accounts.QuotaAutomations: pipe.HLen(ctx, s.Keys.Automations(shard, id)),
		accounts.QuotaInbox:       pipe.ZCard(ctx, s.Keys.Inbox(shard, id)),
		accounts.QuotaBlocked:     pipe.ZCard(ctx, s.Keys.Blocked(shard, id)),
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("quota usage of %s: %w", id, err)
	}
	out := map[string]accounts.QuotaUse{}
	q.Each(func(name string, limit int64) {
		var used int64
		if c := counts[name]; c != nil {
			used = c.Val()
		}
		out[name] = accounts.QuotaUse{Used: used, Limit: limit}
	})
	return out, nil
}
