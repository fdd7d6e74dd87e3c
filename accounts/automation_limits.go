package accounts

import (
	_ "embed"
	"time"
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
