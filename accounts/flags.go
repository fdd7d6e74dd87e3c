package accounts

// Permission flags of sub-accounts: the union of the provider pages of seed
// 002 (general and product permissions) and seed 003 (sending, analytics,
// incoming, blocked, prices, finance, profile).
//
// The parent's administrators set Granted, the ceiling; Enabled, always a
// subset of Granted, is what is in force. A sub-account administrator with
// modify_users may switch flags on and off within Granted and never beyond
// it, which closes seed 002's trap ("subaccounts can change their own
// permissions, including ones they were not originally granted"). Root
// (parent) accounts have every flag; their members are limited by role only.
//
// What each flag gates in smsgate (api/auth.go holds the table of actions;
// router/accept.go checks the sending flags on every mail, from the API or
// SMTP):
//
//	flag                 gates
//	modify_users         PUT /v1/accounts/{id}/permissions by the sub's own sub_admin (enabled within granted)
//	reporting_all        off: own messages and statistics only; on: also read the sibling sub-accounts' (actMessages, actStats)
//	settings             messaging settings: subject mode, long-message policy, part limit, sender id, country (actSettings)
//	global_sending       sending to numbers outside the calling code of the account's default country (accept)
//	billing              stored; billing settings are the parent's alone (actPrice), the ledger needs finance
//	share_contacts       the sub-account uses its parent's contacts (template fields) and opt-out list
//	hide_pricing         the sub's own members see no balance and no prices (redacted responses, actPricesView refused)
//	access_sms           sending at all, by email or API (accept and actSend)
//	send_bulk            a mail or API request with more than one recipient (accept)
//	use_database         contacts and groups (actContacts)
//	sender_view          stored; sender ids are shown on the account itself
//	analytics            statistics (actStats)
//	analytics_details    stored; the detailed message log is always shown to members
//	analytics_export     CSV export of messages and statistics (actMessagesExport, actStatsExport)
//	incoming_sms         the inbox of replies (actInbox)
//	incoming_sms_export  CSV export of the inbox (actInboxExport)
//	blocked_sms          refused and opted-out messages (actBlocked)
//	blocked_sms_export   CSV export of them (actBlockedExport)
//	prices               price table and per-part price (actPricesView)
//	top_up               pulling credit from the parent's master balance (actTopUp)
//	finance              the ledger and its export (actLedger)
//	profile_edit         name and contact email (actProfile)
//
// Stored but not enforced, because smsgate has no such product: access_mms,
// access_voice, access_fax, access_post, access_email, access_reseller and
// share_campaigns.

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Permission flags (seeds 002 and 003).
const (
	FlagModifyUsers       = "modify_users"
	FlagReportingAll      = "reporting_all"
	FlagSettings          = "settings"
	FlagGlobalSending     = "global_sending"
	FlagBilling           = "billing"
	FlagShareContacts     = "share_contacts"
	FlagHidePricing       = "hide_pricing"
	FlagAccessSMS         = "access_sms"
	FlagAccessMMS         = "access_mms"
	FlagAccessVoice       = "access_voice"
	FlagAccessFax         = "access_fax"
	FlagAccessPost        = "access_post"
	FlagAccessEmail       = "access_email"
	FlagAccessReseller    = "access_reseller"
	FlagShareCampaigns    = "share_campaigns"
	FlagSendBulk          = "send_bulk"
	FlagUseDatabase       = "use_database"
	FlagSenderView        = "sender_view"
	FlagAnalytics         = "analytics"
	FlagAnalyticsDetails  = "analytics_details"
	FlagAnalyticsExport   = "analytics_export"
	FlagIncomingSMS       = "incoming_sms"
	FlagIncomingSMSExport = "incoming_sms_export"
	FlagBlockedSMS        = "blocked_sms"
	FlagBlockedSMSExport  = "blocked_sms_export"
	FlagPrices            = "prices"
	FlagTopUp             = "top_up"
	FlagFinance           = "finance"
	FlagProfileEdit       = "profile_edit"
)

// Flags returns every permission flag, sorted.
func Flags() []string {
	fs := []string{
		FlagModifyUsers, FlagReportingAll, FlagSettings, FlagGlobalSending, FlagBilling,
		FlagShareContacts, FlagHidePricing, FlagAccessSMS, FlagAccessMMS, FlagAccessVoice,
		FlagAccessFax, FlagAccessPost, FlagAccessEmail, FlagAccessReseller, FlagShareCampaigns,
		FlagSendBulk, FlagUseDatabase, FlagSenderView, FlagAnalytics, FlagAnalyticsDetails,
		FlagAnalyticsExport, FlagIncomingSMS, FlagIncomingSMSExport, FlagBlockedSMS,
		FlagBlockedSMSExport, FlagPrices, FlagTopUp, FlagFinance, FlagProfileEdit,
	}
	slices.Sort(fs)
	return fs
}

// ValidFlag reports whether f is a permission flag.
func ValidFlag(f string) bool {
	_, ok := slices.BinarySearch(Flags(), f)
	return ok
}

// DefaultPermissions are a new sub-account's flags when none are given:
// sending (one and many recipients, home country only), contacts, sender
// view, own reporting and analytics, the inbox, blocked messages, prices,
// profile and settings. Off: modify_users, reporting_all, global_sending,
// billing, finance, top_up, hide_pricing, every export, contact and campaign
// sharing and the products smsgate does not have. Granted equals Enabled:
// the parent widens either explicitly.
func DefaultPermissions() Permissions {
	on := []string{
		FlagAccessSMS, FlagSendBulk, FlagUseDatabase, FlagSenderView, FlagAnalytics,
		FlagAnalyticsDetails, FlagIncomingSMS, FlagBlockedSMS, FlagPrices, FlagProfileEdit,
		FlagSettings,
	}
	slices.Sort(on)
	return Permissions{Granted: on, Enabled: slices.Clone(on)}
}

// Can reports whether the account has flag in force: a root account has
// every flag; a sub-account those Enabled (and, defensively, Granted).
func (a *Account) Can(flag string) bool {
	if a == nil {
		return false
	}
	if a.ParentID == "" {
		return true
	}
	return slices.Contains(a.Permissions.Enabled, flag) && slices.Contains(a.Permissions.Granted, flag)
}

// normFlags validates, sorts and de-duplicates a list of flags; field names
// the list in errors ("granted: unknown permission flag \"x\"").
func normFlags(field string, fs []string) ([]string, error) {
	if fs == nil {
		return nil, nil
	}
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		f = strings.ToLower(strings.TrimSpace(f))
		if !ValidFlag(f) {
			return nil, acctInvalid("%s: unknown permission flag %q", field, f)
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// NormPermissions validates p: every flag known, lists sorted without
// duplicates, Enabled within Granted. Nil lists stay nil.
func NormPermissions(p Permissions) (Permissions, error) {
	g, err := normFlags("granted", p.Granted)
	if err != nil {
		return p, err
	}
	e, err := normFlags("enabled", p.Enabled)
	if err != nil {
		return p, err
	}
	if g != nil && e != nil {
		for _, f := range e {
			if !slices.Contains(g, f) {
				return p, acctInvalid("enabled: flag %s is not granted", f)
			}
		}
	}
	return Permissions{Granted: g, Enabled: e}, nil
}

var (
	//go:embed lua/flags_set.lua
	flagsSetLua    string
	flagsSetScript = redis.NewScript(flagsSetLua)
)

// SetPermissions changes the flags of sub-account accountID. A nil Granted
// or Enabled keeps the stored list (a kept Enabled is clipped to a new
// Granted). Unknown flags are ErrInvalid, naming the flag.
//
// byParent is the parent's administrators: they set Granted and Enabled,
// Enabled within Granted (ErrInvalid otherwise). Otherwise the caller is the
// sub-account's own administrator (holding modify_users): only Enabled may
// change, and only within the stored Granted; a flag outside it, or any
// change of Granted, is ErrNotPermitted naming it. The check and the write
// run in one Lua script, so a grant withdrawn concurrently cannot be raced.
// Root accounts have every flag: ErrInvalid. ErrNotFound for an unknown id.
func (s *Store) SetPermissions(ctx context.Context, accountID string, p Permissions, byParent bool) error {
	key, err := s.acctKey(accountID)
	if err != nil {
		return err
	}
	p, err = NormPermissions(p)
	if err != nil {
		return err
	}
	mode := "self"
	if byParent {
		mode = "parent"
	}
	given := func(l []string) (string, string) {
		if l == nil {
			return "0", ""
		}
		return "1", strings.Join(l, ",")
	}
	hg, g := given(p.Granted)
	he, e := given(p.Enabled)
	res, err := flagsSetScript.Run(ctx, s.rdb, []string{key}, mode, hg, g, he, e).StringSlice()
	if err != nil {
		return fmt.Errorf("set permissions of %s: %w", accountID, err)
	}
	if len(res) == 0 {
		return fmt.Errorf("set permissions of %s: empty script reply", accountID)
	}
	switch res[0] {
	case "ok":
		return nil
	case "notfound":
		return fmt.Errorf("set permissions: account %q: %w", accountID, ErrNotFound)
	case "root":
		return acctInvalid("permissions: %s is a parent account and has every flag", accountID)
	case "grant":
		return fmt.Errorf("%w: granted: only the parent account's administrators may change the flags granted to %s", ErrNotPermitted, accountID)
	case "notgranted":
		flag := ""
		if len(res) > 1 {
			flag = res[1]
		}
		if byParent {
			return acctInvalid("enabled: flag %s is not granted", flag)
		}
		return fmt.Errorf("%w: enabled: flag %s was not granted to %s by its parent account", ErrNotPermitted, flag, accountID)
	}
	return fmt.Errorf("set permissions of %s: unexpected script reply %q", accountID, res[0])
}
