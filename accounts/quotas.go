package accounts

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Quotas bound what one account may store, so that no tenant can fill
// Redis (which runs without eviction) and stop acceptance for every other:
// counts of contacts, groups, templates, API keys, webhooks, pending
// invitations and automation rules (refused beyond: 409), and the size of
// the inbox and of the blocked log (the oldest entries are dropped beyond).
// The defaults come from the configuration (quotas); the operator
// overrides them per parent account for the parent and each of its
// sub-accounts (smsgate admin quotas). Zero means "the default".
type Quotas struct {
	Contacts    int64 `json:"contacts" yaml:"contacts"`
	Groups      int64 `json:"groups" yaml:"groups"`
	Templates   int64 `json:"templates" yaml:"templates"`
	Keys        int64 `json:"keys" yaml:"keys"`
	Webhooks    int64 `json:"webhooks" yaml:"webhooks"`
	Invitations int64 `json:"invitations" yaml:"invitations"`
	Automations int64 `json:"automation_rules" yaml:"automation_rules"`
	Inbox       int64 `json:"inbox" yaml:"inbox"`
	Blocked     int64 `json:"blocked" yaml:"blocked"`
}

// Quota names, as in JSON, configuration and errors.
const (
	QuotaContacts    = "contacts"
	QuotaGroups      = "groups"
	QuotaTemplates   = "templates"
	QuotaKeys        = "keys"
	QuotaWebhooks    = "webhooks"
	QuotaInvitations = "invitations"
	QuotaAutomations = "automation_rules"
	QuotaInbox       = "inbox"
	QuotaBlocked     = "blocked"
)

// DefaultQuotas are the quotas when the configuration sets none: far above
// what an office sends from, far below what fills a Redis.
func DefaultQuotas() Quotas {
	return Quotas{Contacts: 100_000, Groups: 1_000, Templates: 500, Keys: 100, Webhooks: 10, Invitations: 100,
		Automations: MaxAutomations, Inbox: 100_000, Blocked: 100_000}
}

// MaxQuota bounds every quota.
const MaxQuota = 100_000_000

// Or returns q with each zero quota taken from d.
func (q Quotas) Or(d Quotas) Quotas {
	qv, dv := reflect.ValueOf(&q).Elem(), reflect.ValueOf(d)
	for i := range qv.NumField() {
		if qv.Field(i).Int() == 0 {
			qv.Field(i).SetInt(dv.Field(i).Int())
		}
	}
	return q
}

// Each calls f with every quota's name and value, in a fixed order.
func (q Quotas) Each(f func(name string, v int64)) {
	v, t := reflect.ValueOf(q), reflect.TypeOf(q)
	for i := range v.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		f(name, v.Field(i).Int())
	}
}

// Validate names the first quota out of range (0: the default).
func (q Quotas) Validate() error {
	var err error
	q.Each(func(name string, v int64) {
		if err == nil && (v < 0 || v > MaxQuota) {
			err = Invalidf("%s: %d must be between 1 and %d (0: the default)", name, v, int64(MaxQuota))
		}
	})
	return err
}

// ErrQuota matches every *QuotaError.
var ErrQuota = errors.New("quota reached")

// QuotaError reports a write refused by one of an account's quotas:
// nothing was written.
type QuotaError struct {
	Account string
	Quota   string // QuotaContacts, ...
	Limit   int64
	Used    int64 // before this write
	Want    int64 // what this write would have added
}

// Error names the quota, its limit and the usage, e.g. "quota: account
// a0-x has 100000 contacts, its quota of contacts is 100000; delete some
// or ask the operator for more".
func (e *QuotaError) Error() string {
	add := ""
	if e.Want > 1 {
		add = fmt.Sprintf(" (this adds %d)", e.Want)
	}
	return fmt.Sprintf("%s: account %s has %d of its quota of %d%s; delete some, or ask the operator to raise it",
		e.Quota, e.Account, e.Used, e.Limit, add)
}

// Is makes errors.Is(err, ErrQuota) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

// QuotaUse is one quota of an account and how much of it is used.
type QuotaUse struct {
	Used  int64 `json:"used"`
	Limit int64 `json:"limit"`
}
