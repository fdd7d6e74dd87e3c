package accounts

import (
	_ "embed"
	"slices"
	"strings"
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
			return nil, Invalidf("%s: unknown permission flag %q", field, f)
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
				return p, Invalidf("enabled: flag %s is not granted", f)
			}
		}
	}
	return Permissions{Granted: g, Enabled: e}, nil
}
