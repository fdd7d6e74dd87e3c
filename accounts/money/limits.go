package money

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/money_limits.lua
	moneyLimitsLua    string
	moneyLimitsScript = store.NewScript("money/money_limits.lua", moneyLimitsLua)
)

// Limits returns an account's sending limits (0: unlimited). They live in
// the account hash, so that the accept script (accounts/messages) reads them
// with the balance at no extra cost.
func (s *Store) Limits(ctx context.Context, accountID string) (*accounts.Limits, error) {
	key, err := s.AcctKey(accountID)
	if err != nil {
		return nil, fmt.Errorf("limits of %s: %w", accountID, err)
	}
	v, err := s.RDB.HMGet(ctx, key, "status", "lim_minute", "lim_parts", "lim_spend").Result()
	if err != nil {
		return nil, fmt.Errorf("limits of %s: %w", accountID, err)
	}
	if st, _ := v[0].(string); st == "" || st == "deleted" {
		return nil, fmt.Errorf("limits of %s: account %w", accountID, accounts.ErrNotFound)
	}
	num := func(x any) int64 {
		str, _ := x.(string)
		n, _ := strconv.ParseInt(str, 10, 64)
		return n
	}
	return &accounts.Limits{PerMinute: num(v[1]), PartsPerDay: num(v[2]), SpendPerDay: num(v[3])}, nil
}

// SetLimits replaces an account's sending limits. Who may (the parent's
// administrators for a sub-account, never the sub-account itself) is the
// API's authorisation table, not the store's.
func (s *Store) SetLimits(ctx context.Context, accountID string, l accounts.Limits) (*accounts.Limits, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("set limits of %s: %w", accountID, err)
	}
	key, err := s.AcctKey(accountID)
	if err != nil {
		return nil, fmt.Errorf("set limits of %s: %w", accountID, err)
	}
	ok, err := s.Run(ctx, moneyLimitsScript, []string{key}, l.PerMinute, l.PartsPerDay, l.SpendPerDay).Int()
	if err != nil {
		return nil, fmt.Errorf("set limits of %s: %w", accountID, err)
	}
	if ok == 0 {
		return nil, fmt.Errorf("set limits of %s: account %w", accountID, accounts.ErrNotFound)
	}
	return &l, nil
}
