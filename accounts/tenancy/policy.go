package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// SenderPolicy returns the sender policy in force for account id: its own,
// its parent's, or the default (accounts.EffectivePolicy).
func (s *Store) SenderPolicy(ctx context.Context, id string) (*accounts.PolicyView, error) {
	a, err := s.GetAccount(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("sender policy: %w", err)
	}
	v, err := s.effectivePolicy(ctx, a)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// SetSenderPolicy stores p as account id's own sender policy, validated;
// nil removes it, so that the account inherits its parent's policy (or, for
// a root account, goes back to the default). It returns the policy then in
// force.
func (s *Store) SetSenderPolicy(ctx context.Context, id string, p *accounts.SenderPolicy) (*accounts.PolicyView, error) {
	key, err := s.AcctKey(id)
	if err != nil {
		return nil, err
	}
	if _, err := s.GetAccount(ctx, id); err != nil {
		return nil, fmt.Errorf("sender policy: %w", err)
	}
	if p == nil {
		if err := s.RDB.HDel(ctx, key, "sender_policy").Err(); err != nil {
			return nil, fmt.Errorf("sender policy of %s: %w", id, err)
		}
	} else {
		if err := p.Validate(); err != nil {
			return nil, err
		}
		// acct_update.lua sets fields of an existing account only.
		res, err := s.Run(ctx, acctUpdateScript, []string{key}, "sender_policy", accounts.MarshalPolicy(*p)).StringSlice()
		if err != nil {
			return nil, fmt.Errorf("sender policy of %s: %w", id, err)
		}
		if len(res) == 0 {
			return nil, fmt.Errorf("sender policy: account %q: %w", id, accounts.ErrNotFound)
		}
	}
	return s.SenderPolicy(ctx, id)
}

// effectivePolicy is a's policy in force; a sub-account without its own
// costs one HGET of its parent's.
func (s *Store) effectivePolicy(ctx context.Context, a *accounts.Account) (accounts.PolicyView, error) {
	raw := ""
	if a.SenderPolicy == nil && a.ParentID != "" {
		key, err := s.AcctKey(a.ParentID)
		if err != nil {
			return accounts.PolicyView{}, fmt.Errorf("sender policy of %s: parent: %w", a.ID, err)
		}
		if raw, err = s.RDB.HGet(ctx, key, "sender_policy").Result(); err != nil && !errors.Is(err, redis.Nil) {
			return accounts.PolicyView{}, fmt.Errorf("sender policy of %s: parent: %w", a.ID, err)
		}
	}
	return policyOf(a, raw)
}

// policyOf is a's policy in force given its parent's stored policy (raw,
// "" for none or a root account).
func policyOf(a *accounts.Account, parentRaw string) (accounts.PolicyView, error) {
	var parent *accounts.SenderPolicy
	if a.SenderPolicy == nil && a.ParentID != "" {
		var err error
		if parent, err = accounts.UnmarshalPolicy(parentRaw); err != nil {
			return accounts.PolicyView{}, fmt.Errorf("sender policy of %s: parent %s: %w", a.ID, a.ParentID, err)
		}
	}
	return accounts.EffectivePolicy(a.ID, a.SenderPolicy, a.ParentID, parent), nil
}
