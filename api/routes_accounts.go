package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// Limits of list endpoints.
const (
	defaultLimit = 50
	maxLimit     = 1000
	maxPartsCap  = 255 // SMPP concatenation counts parts in one octet
)

// decode reads a JSON body strictly into v: unknown fields and trailing data
// are errors that name the problem.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
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

// meResponse is the body of GET /v1/me.
type meResponse struct {
	Account *accounts.Account `json:"account"`
	Key     *accounts.APIKey  `json:"key"`
	Role    accounts.Role     `json:"role"`
}

func (s *server) me(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	writeJSON(w, http.StatusOK, meResponse{Account: p.acct, Key: p.key, Role: p.key.Role})
	return nil
}

// accountList is the body of GET /v1/accounts.
type accountList struct {
	Accounts []*accounts.Account `json:"accounts"`
}

func (s *server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	list := []*accounts.Account{p.acct}
	if p.acct.ParentID == "" && p.key.Role == accounts.RoleParentAdmin {
		subs, err := s.store.ListSubAccounts(r.Context(), p.acct.ID)
		if err != nil {
			return s.toProblem(r.Context(), err, "account", p.acct.ID)
		}
		list = append(list, subs...)
	}
	writeJSON(w, http.StatusOK, accountList{Accounts: list})
	return nil
}

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
}

// pricing reports whether the settings touch the price.
func (in *settings) pricing() bool { return in.PricePerPart != nil || in.Currency != nil }

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
}

// validateAccount checks the settings of a, naming the first bad field.
func validateAccount(a *accounts.Account) error {
	switch {
	case a.Name == "":
		return invalid("name: is required")
	case len(a.Name) > 200:
		return invalid("name: is longer than 200 characters")
	case a.ContactEmail != "" && !strings.Contains(a.ContactEmail, "@"):
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
	created, err := s.store.CreateAccount(r.Context(), a)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", a.Name)
	}
	w.Header().Set("Location", "/v1/accounts/"+created.ID)
	writeJSON(w, http.StatusCreated, created)
	return nil
}

func (s *server) getAccount(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, acct)
	return nil
}

func (s *server) patchAccount(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.target(r, actManage)
	if err != nil {
		return err
	}
	var in settings
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.pricing() {
		if err := s.allow(p, acct, actPrice); err != nil {
			return err
		}
	}
	updated := *acct
	in.apply(&updated)
	if err := validateAccount(&updated); err != nil {
		return err
	}
	if err := s.store.UpdateAccount(r.Context(), &updated); err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	return s.writeAccount(w, r, acct.ID)
}

// setStatus activates or deactivates a sub-account.
func (s *server) setStatus(st accounts.Status) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		_, acct, err := s.target(r, actFinance)
		if err != nil {
			return err
		}
		if err := s.store.SetStatus(r.Context(), acct.ID, st); err != nil {
			return s.toProblem(r.Context(), err, "account", acct.ID)
		}
		return s.writeAccount(w, r, acct.ID)
	}
}

// writeAccount sends the stored state of account id.
func (s *server) writeAccount(w http.ResponseWriter, r *http.Request, id string) error {
	acct, err := s.store.GetAccount(r.Context(), id)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", id)
	}
	writeJSON(w, http.StatusOK, acct)
	return nil
}
