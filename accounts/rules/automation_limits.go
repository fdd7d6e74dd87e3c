package rules

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

// AutomationNumberOwner returns the account a dedicated number (E.164
// digits) is assigned to, "" when it is none's.
func (s *Store) AutomationNumberOwner(ctx context.Context, number string) (string, error) {
	owner, err := s.RDB.Get(ctx, s.Keys.Number(number)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("number owner: %w", err)
	}
	return owner, nil
}

var (
	//go:embed lua/automation_claim.lua
	autoClaimLua    string
	autoClaimScript = store.NewScript("rules/automation_claim.lua", autoClaimLua)
)

// ClaimAutomation checks and records one automatic action atomically: it
// refuses (ok false, why AutoLimitWindow) when the rule has already acted
// for c.Phone within c.Window, and (AutoLimitHourly) when the account has
// used its hourly cap; otherwise it records the action for both limits.
func (s *Store) ClaimAutomation(ctx context.Context, c accounts.AutomationClaim) (ok bool, why string, err error) {
	_, shard, err := s.autoKey(c.AccountID)
	if err != nil {
		return false, "", err
	}
	hour := s.Now().Unix() / 3600
	keys := []string{
		s.Keys.AutomationWindow(shard, c.RuleID, c.Phone),
		s.Keys.AutomationHour(shard, c.AccountID, hour),
	}
	res, err := s.Run(ctx, autoClaimScript, keys, c.Window.Milliseconds(), c.HourlyCap, (2 * time.Hour).Milliseconds()).Text()
	if err != nil {
		return false, "", fmt.Errorf("claim automation %s: %w", c.RuleID, err)
	}
	if res == "ok" {
		return true, "", nil
	}
	return false, res, nil
}
