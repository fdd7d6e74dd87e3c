package redisstore

import (
	"context"
	"fmt"

	"github.com/smsgate/smsgate/accounts"
)

// Bootstrap creates the first root account (name, default country) and a
// parent_admin key for it, and returns the key's secret, once. A second call,
// or a concurrent one that lost the SET NX on P:bootstrap, gets
// ErrAlreadyBootstrapped. If creation fails the claim is released so that
// bootstrap can be retried.
func (s *Store) Bootstrap(ctx context.Context, a accounts.Account) (*accounts.Account, string, error) {
	a.ParentID = ""
	if err := accounts.NormalizeAccount(&a); err != nil {
		return nil, "", fmt.Errorf("bootstrap: %w", err)
	}
	key := s.Keys.Bootstrap()
	ok, err := s.RDB.SetNX(ctx, key, "pending", 0).Result()
	if err != nil {
		return nil, "", fmt.Errorf("bootstrap: %w", err)
	}
	if !ok {
		return nil, "", accounts.ErrAlreadyBootstrapped
	}
	acct, secret, err := s.keyBootstrap(ctx, a)
	if err != nil {
		// Release the claim even if ctx has ended.
		_ = s.RDB.Del(context.WithoutCancel(ctx), key).Err()
		return nil, "", fmt.Errorf("bootstrap: %w", err)
	}
	return acct, secret, nil
}

// CreateParent creates a further parent (root) account, one per customer
// of the operator, with its first parent_admin key (the secret, shown once).
// Bootstrap is the first; this is the operator's way to the next ones.
func (s *Store) CreateParent(ctx context.Context, a accounts.Account) (*accounts.Account, string, error) {
	a.ParentID = ""
	if err := accounts.NormalizeAccount(&a); err != nil {
		return nil, "", fmt.Errorf("create parent: %w", err)
	}
	acct, secret, err := s.keyBootstrap(ctx, a)
	if err != nil {
		return nil, "", fmt.Errorf("create parent: %w", err)
	}
	return acct, secret, nil
}

func (s *Store) keyBootstrap(ctx context.Context, a accounts.Account) (*accounts.Account, string, error) {
	acct, err := s.CreateAccount(ctx, a)
	if err != nil {
		return nil, "", err
	}
	secret, _, err := s.CreateKey(ctx, acct.ID, accounts.RoleParentAdmin, "bootstrap")
	if err != nil {
		return nil, "", err
	}
	if err := s.RDB.Set(ctx, s.Keys.Bootstrap(), acct.ID, 0).Err(); err != nil {
		return nil, "", err
	}
	return acct, secret, nil
}
