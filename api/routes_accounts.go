package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// accountRoutes are the routes of accounts themselves: the caller's own
// (GET /v1/me), the accounts it may see, creating sub-accounts, settings,
// and activating or deactivating sub-accounts.
func (s *server) accountRoutes() []route {
	return []route{
		{"GET /v1/me", true, s.h(s.me)},
		{"GET /v1/accounts", true, s.h(s.listAccounts)},
		{"POST /v1/accounts", true, s.h(s.createAccount)},
		{"GET /v1/accounts/{id}", true, s.h(s.getAccount)},
		{"PATCH /v1/accounts/{id}", true, s.h(s.patchAccount)},
		{"POST /v1/accounts/{id}/activate", true, s.h(s.setStatus(accounts.StatusActive))},
		{"POST /v1/accounts/{id}/deactivate", true, s.h(s.setStatus(accounts.StatusDeactivated))},
	}
}

// AccountStore is what the accounts area needs of the account store. The
// account list shows the prefixes of each account's keys, hence ListKeys.
type AccountStore interface {
	CreateAccount(ctx context.Context, a accounts.Account) (*accounts.Account, error)
	GetAccount(ctx context.Context, id string) (*accounts.Account, error)
	UpdateAccount(ctx context.Context, a *accounts.Account) error
	ListSubAccounts(ctx context.Context, parentID string) ([]*accounts.Account, error)
	SetStatus(ctx context.Context, id string, st accounts.Status) error
	ListKeys(ctx context.Context, accountID string) ([]accounts.APIKey, error)
}

// Limits of list endpoints.
const (
	defaultLimit = 50
	maxLimit     = 1000
	maxPartsCap  = 255 // SMPP concatenation counts parts in one octet
)

// decode reads a JSON body strictly into v: unknown fields and trailing data
// are errors that name the problem.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return problemf(http.StatusRequestEntityTooLarge, "too-large", "body: larger than the limit of %d bytes", int64(maxBody))
		case errors.Is(err, io.EOF):
			return badRequest("body: a JSON object is required")
		case errors.As(err, &te) && te.Field != "":
			return badRequest("body: %s: must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return badRequest("body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return badRequest("body: unexpected data after the JSON object")
	}
	return nil
}

// limitParam reads ?limit=, defaulting to defaultLimit.
func limitParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badRequest("limit: %q must be a whole number from 1 to %d", v, maxLimit)
	}
	return n, nil
}

// Me is the body of GET /v1/me: the caller's account, key and role, and
// what it may do (clients such as the web console show only that).
type Me struct {
	Account *accounts.Account `json:"account"`
	Key     *accounts.APIKey  `json:"key"`
	Role    accounts.Role     `json:"role"`
	// May names the actions the key may perform on its own account, and
	// MayOnSubs those on each of its sub-accounts (parent_admin of a root
	// only): decided by the same rule table as every request.
	May       []string `json:"may"`
	MayOnSubs []string `json:"may_on_subs"`
}

func (s *server) me(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	writeJSON(w, http.StatusOK, Me{Account: p.acct, Key: p.key, Role: p.key.Role,
		May: mayList(p, p.acct), MayOnSubs: mayOnSubs(p)})
	return nil
}

// accountList is the body of GET /v1/accounts.
type accountList struct {
	Accounts []accountItem `json:"accounts"`
}

// accountItem is one account of the team page (seed 004): the account as
// the caller may see it (redact) and the visible prefixes of its API keys
// ("sgk_<key id>"; empty unless the caller may manage its keys).
type accountItem struct {
	*accounts.Account
	KeyPrefixes []string `json:"key_prefixes"`
}

// listAccounts lists the caller's account and, for a parent_admin key of a
// Root account, its sub-accounts (deleted ones are gone), with name,
// contact email, status, balance and key prefixes.
func (s *server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	list := []*accounts.Account{p.acct}
	if p.acct.ParentID == "" && p.key.Role == accounts.RoleParentAdmin {
		subs, err := s.accounts.ListSubAccounts(r.Context(), p.acct.ID)
		if err != nil {
			return s.toProblem(r.Context(), err, "account", p.acct.ID)
		}
		list = append(list, subs...)
	}
	out := accountList{Accounts: make([]accountItem, 0, len(list))}
	for _, a := range list {
		item := accountItem{Account: a, KeyPrefixes: []string{}}
		if s.allow(p, a, actKeys) == nil {
			keys, err := s.accounts.ListKeys(r.Context(), a.ID)
			if err != nil {
				return s.toProblem(r.Context(), err, "account", a.ID)
			}
			for _, k := range keys {
				item.KeyPrefixes = append(item.KeyPrefixes, keyPrefix+k.ID)
			}
		}
		out.Accounts = append(out.Accounts, item)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// keyPrefix starts every API key secret (accounts/members): "sgk_<key
// id>_<random>", so "sgk_<key id>" identifies a key without revealing it.
const keyPrefix = "sgk_"

// settings are the writable fields of an account, for POST (create) and
// PATCH. Nil means "not given".
type settings struct {
	Name           *string `json:"name"`
	ContactEmail   *string `json:"contact_email"`
	DefaultCountry *string `json:"default_country"`
	PricePerPart   *int64  `json:"price_per_part"`
	Currency       *string `json:"currency"`
	MaxParts       *int    `json:"max_parts"`
	LongMessage    *string `json:"long_message"`
	SubjectMode    *string `json:"subject_mode"`
	SenderID       *string `json:"sender_id"`
	// Money settings: billing and credit limit actPrice, like the price;
	// auto-recharge and the low-balance alert actLimits.
	Billing      *string                `json:"billing"`
	CreditLimit  *int64                 `json:"credit_limit"`
	AutoRecharge *accounts.AutoRecharge `json:"auto_recharge"`
	LowBalance   *int64                 `json:"low_balance_threshold"`
}

// pricing reports whether the settings touch the price, the billing mode
// or the credit limit (actPrice: the operator's on a root).
func (in *settings) pricing() bool {
	return in.PricePerPart != nil || in.Currency != nil || in.Billing != nil || in.CreditLimit != nil
}

// alerts reports whether the settings touch auto-recharge or the
// low-balance alert (actLimits).
func (in *settings) alerts() bool { return in.AutoRecharge != nil || in.LowBalance != nil }

// profile reports whether the settings touch the profile (actProfile).
func (in *settings) profile() bool { return in.Name != nil || in.ContactEmail != nil }

// messaging reports whether the settings touch how messages are sent
// (actSettings).
func (in *settings) messaging() bool {
	return in.SubjectMode != nil || in.LongMessage != nil || in.MaxParts != nil || in.SenderID != nil ||
		in.DefaultCountry != nil
}

// apply copies the given fields onto a.
func (in *settings) apply(a *accounts.Account) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&a.Name, in.Name)
	set(&a.ContactEmail, in.ContactEmail)
	set(&a.DefaultCountry, in.DefaultCountry)
	set(&a.Currency, in.Currency)
	set(&a.LongMessage, in.LongMessage)
	set(&a.SubjectMode, in.SubjectMode)
	set(&a.SenderID, in.SenderID)
	a.DefaultCountry = strings.ToUpper(a.DefaultCountry)
	a.Currency = strings.ToUpper(a.Currency)
	if in.PricePerPart != nil {
		a.PricePerPart = *in.PricePerPart
	}
	if in.MaxParts != nil {
		a.MaxParts = *in.MaxParts
	}
	set(&a.Billing, in.Billing)
	if in.CreditLimit != nil {
		a.CreditLimit = *in.CreditLimit
	} else if a.Billing == accounts.BillingPrepaid {
		a.CreditLimit = 0 // switching to prepaid drops the limit
	}
	if in.AutoRecharge != nil {
		a.AutoRecharge = *in.AutoRecharge
	}
	if in.LowBalance != nil {
		a.LowBalance = *in.LowBalance
	}
}

// validateAccount checks the settings of a, naming the first bad field.
func validateAccount(a *accounts.Account) error {
	switch {
	case a.Name == "":
		return invalid("name: is required")
	case len(a.Name) > 200:
		return invalid("name: is longer than 200 characters")
	case a.ContactEmail != "" && (!strings.Contains(a.ContactEmail, "@") || accounts.CheckName("contact_email", a.ContactEmail) != nil ||
		strings.ContainsAny(a.ContactEmail, " <>\"")):
		return invalid("contact_email: %q is not an email address", a.ContactEmail)
	case !isUpperAlpha(a.DefaultCountry, 2):
		return invalid("default_country: %q is not an ISO 3166-1 alpha-2 code such as AU", a.DefaultCountry)
	case a.PricePerPart < 0:
		return invalid("price_per_part: %d is negative", a.PricePerPart)
	case !isUpperAlpha(a.Currency, 3):
		return invalid("currency: %q is not an ISO 4217 code such as AUD", a.Currency)
	case a.MaxParts < 0 || a.MaxParts > maxPartsCap:
		return invalid("max_parts: %d is outside 0..%d", a.MaxParts, maxPartsCap)
	case a.LongMessage != accounts.LongReject && a.LongMessage != accounts.LongTruncate:
		return invalid("long_message: %q must be %q or %q", a.LongMessage, accounts.LongReject, accounts.LongTruncate)
	case a.SubjectMode != accounts.SubjectIgnore && a.SubjectMode != accounts.SubjectPrepend:
		return invalid("subject_mode: %q must be %q or %q", a.SubjectMode, accounts.SubjectIgnore, accounts.SubjectPrepend)
	case len(a.SenderID) > 15:
		return invalid("sender_id: %q is longer than 15 characters (SMPP 3.4 §5.2.8 source_addr allows 11 alphanumeric or 15 digits)", a.SenderID)
	case a.Billing != "" && a.Billing != accounts.BillingPrepaid && a.Billing != accounts.BillingPostpaid:
		return invalid("billing: %q must be %q or %q", a.Billing, accounts.BillingPrepaid, accounts.BillingPostpaid)
	case a.CreditLimit < 0:
		return invalid("credit_limit: %d is negative", a.CreditLimit)
	case a.AutoRecharge.Threshold < 0 || a.AutoRecharge.Amount < 0:
		return invalid("auto_recharge: threshold %d and amount %d may not be negative", a.AutoRecharge.Threshold, a.AutoRecharge.Amount)
	case a.LowBalance < 0:
		return invalid("low_balance_threshold: %d is negative", a.LowBalance)
	}
	return nil
}

func isUpperAlpha(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func (s *server) createAccount(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := s.allow(p, p.acct, actCreateSub); err != nil {
		return err
	}
	var in settings
	if err := decode(r, &in); err != nil {
		return err
	}
	// A new sub-account inherits its parent's settings unless given.
	parent := p.acct
	a := accounts.Account{
		ParentID:       parent.ID,
		Status:         accounts.StatusActive,
		DefaultCountry: parent.DefaultCountry,
		PricePerPart:   parent.PricePerPart,
		Currency:       parent.Currency,
		MaxParts:       parent.MaxParts,
		LongMessage:    parent.LongMessage,
		SubjectMode:    parent.SubjectMode,
	}
	if a.LongMessage == "" {
		a.LongMessage = accounts.LongReject
	}
	if a.SubjectMode == "" {
		a.SubjectMode = accounts.SubjectIgnore
	}
	in.apply(&a)
	if err := validateAccount(&a); err != nil {
		return err
	}
	created, err := s.accounts.CreateAccount(r.Context(), a)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", a.Name)
	}
	// Every sub-account has its own API key (seed 003): a sub_admin key,
	// created by the caller, returned once.
	by := accounts.CreatorOf(p.key)
	secret, key, err := s.keys.CreateKeyBy(r.Context(), created.ID, accounts.RoleSubAdmin, "sub-account key", &by)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", created.ID)
	}
	w.Header().Set("Location", "/v1/accounts/"+created.ID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, createdAccount{Account: created, Key: newKey{Secret: secret, Key: key}})
	return nil
}

// createdAccount is the answer to POST /v1/accounts: the account and its
// own API key, whose secret is shown only here.
type createdAccount struct {
	*accounts.Account
	Key newKey `json:"key"`
}

func (s *server) getAccount(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	out := accountView{Account: acct}
	if qs, ok := s.accounts.(quotaUser); ok {
		if out.Quotas, err = qs.QuotaUsage(r.Context(), acct.ID); err != nil {
			return s.toProblem(r.Context(), err, "account", acct.ID)
		}
		if s.webhooks != nil {
			hooks, err := s.webhooks.List(r.Context(), acct.ID)
			if err != nil {
				return s.toProblem(r.Context(), err, "account", acct.ID)
			}
			u := out.Quotas[accounts.QuotaWebhooks]
			u.Used = int64(len(hooks))
			out.Quotas[accounts.QuotaWebhooks] = u
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// accountView is GET /v1/accounts/{id}: the account, and per quota what it
// uses of it.
type accountView struct {
	*accounts.Account
	Quotas map[string]accounts.QuotaUse `json:"quotas,omitempty"`
}

// quotaUser is the part of an account store that reports quota usage.
type quotaUser interface {
	QuotaUsage(ctx context.Context, id string) (map[string]accounts.QuotaUse, error)
}

// patchAccount changes the given settings. Each group of fields needs its
// own action: name and contact_email actProfile; subject_mode, long_message,
// max_parts, sender_id and default_country actSettings; the price and money
// settings actPrice (the parent's administrators; on a root the operator's,
// through smsgate admin billing); auto-recharge and the low-balance alert
// actLimits.
func (s *server) patchAccount(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	var in settings
	if err := decode(r, &in); err != nil {
		return err
	}
	for _, g := range []struct {
		touched bool
		act     action
	}{{in.profile(), actProfile}, {in.messaging(), actSettings}, {in.pricing(), actPrice}, {in.alerts(), actLimits}} {
		if g.touched {
			if err := s.allow(p, acct, g.act); err != nil {
				return err
			}
		}
	}
	updated := *acct
	in.apply(&updated)
	if err := validateAccount(&updated); err != nil {
		return err
	}
	if updated.Billing == accounts.BillingPrepaid && acct.Billing == accounts.BillingPostpaid && acct.Balance < 0 {
		return invalid("billing: account %s owes %s; credit it to zero before switching to prepaid",
			acct.ID, accounts.FormatMoney(-acct.Balance, acct.Currency))
	}
	if err := s.accounts.UpdateAccount(r.Context(), &updated); err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	return s.writeAccount(w, r, acct.ID)
}

// setStatus activates or deactivates a sub-account.
func (s *server) setStatus(st accounts.Status) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		_, acct, err := s.target(r, actSubStatus)
		if err != nil {
			return err
		}
		if err := s.accounts.SetStatus(r.Context(), acct.ID, st); err != nil {
			return s.toProblem(r.Context(), err, "account", acct.ID)
		}
		return s.writeAccount(w, r, acct.ID)
	}
}

// writeAccount sends the stored state of account id.
func (s *server) writeAccount(w http.ResponseWriter, r *http.Request, id string) error {
	acct, err := s.accounts.GetAccount(r.Context(), id)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", id)
	}
	writeJSON(w, http.StatusOK, acct)
	return nil
}
