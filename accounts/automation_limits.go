package accounts

import (
	"context"
	_ "embed" // Lua script
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The loop limits of automation rules (see automation.go): the store's
// half. router/automation.go decides when to ask.

// AutomationNumberOwner returns the account a dedicated number (E.164
// digits) is assigned to, "" when it is none's.
func (s *Store) AutomationNumberOwner(ctx context.Context, number string) (string, error) {
	owner, err := s.rdb.Get(ctx, s.gkey("number", number)).Result()
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
	autoClaimScript = redis.NewScript(autoClaimLua)
)

// AutomationClaim asks to act once under a rule: ClaimAutomation grants it
// within the loop limits.
type AutomationClaim struct {
	AccountID, RuleID string
	// Phone is the number the action answers; with Window > 0 the rule acts
	// at most once per Phone per Window.
	Phone  string
	Window time.Duration
	// HourlyCap bounds the automatic actions of the account per clock hour
	// (all its rules together); 0: no cap.
	HourlyCap int
}

// Reasons ClaimAutomation refuses.
const (
	AutoLimitWindow = "window"
	AutoLimitHourly = "hourly_cap"
)

// ClaimAutomation checks and records one automatic action atomically: it
// refuses (ok false, why AutoLimitWindow) when the rule has already acted
// for c.Phone within c.Window, and (AutoLimitHourly) when the account has
// used its hourly cap; otherwise it records the action for both limits.
func (s *Store) ClaimAutomation(ctx context.Context, c AutomationClaim) (ok bool, why string, err error) {
	_, shard, err := s.autoKey(c.AccountID)
	if err != nil {
		return false, "", err
	}
	hour := s.now().Unix() / 3600
	keys := []string{
		s.skey(shard, "autoonce", c.RuleID, c.Phone),
		s.skey(shard, "autocap", c.AccountID, strconv.FormatInt(hour, 10)),
	}
	res, err := autoClaimScript.Run(ctx, s.rdb, keys, c.Window.Milliseconds(), c.HourlyCap, (2 * time.Hour).Milliseconds()).Text()
	if err != nil {
		return false, "", fmt.Errorf("claim automation %s: %w", c.RuleID, err)
	}
	if res == "ok" {
		return true, "", nil
	}
	return false, res, nil
}
