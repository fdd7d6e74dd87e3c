package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smsgate/smsgate/accounts"
)

// registrationRoutes are the routes of an account's email-to-SMS
// registrations: the domains and addresses whose mail it sends.
func (s *server) registrationRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/domains", true, s.h(s.listDomains)},
		{"POST /v1/accounts/{id}/domains", true, s.h(s.addDomain)},
		{"DELETE /v1/accounts/{id}/domains/{domain}", true, s.h(s.removeDomain)},
		{"POST /v1/accounts/{id}/domains/{domain}/verify", true, s.h(s.verifyDomain)},
		{"GET /v1/accounts/{id}/addresses", true, s.h(s.listAddresses)},
		{"POST /v1/accounts/{id}/addresses", true, s.h(s.addAddress)},
		{"DELETE /v1/accounts/{id}/addresses/{address}", true, s.h(s.removeAddress)},
		{"POST /v1/address-confirmations", false, s.h(s.confirmAddress)},
	}
}

// RegistrationStore is what the registrations area needs of the account
// store: the domains and addresses registered to an account.
type RegistrationStore interface {
	Registrations(ctx context.Context, accountID string) (domains, addresses []string, err error)
	RemoveDomain(ctx context.Context, accountID, domain string) error
	RemoveAddress(ctx context.Context, accountID, address string) error
	// RequestDomain starts a domain registration: nil when the account
	// already has the domain, else the TXT record that proves control.
	RequestDomain(ctx context.Context, accountID, domain string) (*accounts.DomainChallenge, error)
	PendingDomains(ctx context.Context, accountID string) ([]accounts.DomainChallenge, error)
	VerifyDomain(ctx context.Context, accountID, domain string, lookup func(ctx context.Context, name string) ([]string, error)) error
	// RequestAddress registers an address at once ("" token) or returns the
	// token to mail to it.
	RequestAddress(ctx context.Context, accountID, address string) (token string, err error)
	PendingAddresses(ctx context.Context, accountID string) ([]accounts.PendingAddress, error)
	ConfirmAddress(ctx context.Context, token string) (accountID, address string, err error)
}

// domainBody is the body of POST /v1/accounts/{id}/domains.
type domainBody struct {
	Domain string `json:"domain"`
}

// addressBody is the body of POST /v1/accounts/{id}/addresses.
type addressBody struct {
	Address string `json:"address"`
}

// domainList and addressList are the bodies of the GET routes: the
// registrations in force, and those waiting for proof or confirmation.
type domainList struct {
	Domains []string                   `json:"domains"`
	Pending []accounts.DomainChallenge `json:"pending"`
}

type addressList struct {
	Addresses []string                  `json:"addresses"`
	Pending   []accounts.PendingAddress `json:"pending"`
}

// Registration states in the answers of POST domains and addresses.
const (
	regVerified = "verified"
	regPending  = "pending"
)

// domainState answers POST /v1/accounts/{id}/domains and .../verify.
type domainState struct {
	Domain string `json:"domain"`
	Status string `json:"status"`
	*accounts.DomainChallenge
	Verify string `json:"verify,omitempty"` // how to finish, for a pending one
}

// addressState answers POST /v1/accounts/{id}/addresses and the
// confirmation.
type addressState struct {
	Address   string    `json:"address"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Detail    string    `json:"detail,omitempty"`
}

// normDomain lower-cases a domain and checks its shape (labels of 1 to 63
// letters, digits or hyphens, RFC 1035 §2.3.1, or non-ASCII letters of an
// internationalised name); the store decides whether it is public or taken.
func normDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if d == "" {
		return "", invalid("domain: is required")
	}
	labels := strings.Split(d, ".")
	ok := utf8.ValidString(d) && len(d) <= 253 && len(labels) >= 2
	for _, l := range labels {
		ok = ok && l != "" && len(l) <= 63 && !strings.HasPrefix(l, "-") && !strings.HasSuffix(l, "-")
		for _, c := range l {
			ok = ok && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c > 0x7f && unicode.IsLetter(c))
		}
	}
	if !ok {
		return "", invalid("domain: %q is not a domain name", d)
	}
	return d, nil
}

// normAddress lower-cases an email address and checks its shape.
func normAddress(a string) (string, error) {
	a = strings.ToLower(strings.TrimSpace(a))
	local, domain, ok := strings.Cut(a, "@")
	switch {
	case a == "":
		return "", invalid("address: is required")
	case !ok || local == "" || len(a) > 254 || strings.ContainsAny(a, " \t/\\"):
		return "", invalid("address: %q is not an email address", a)
	}
	if _, err := normDomain(domain); err != nil {
		return "", invalid("address: %q is not an email address", a)
	}
	return a, nil
}

func (s *server) listDomains(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	domains, _, err := s.registrations.Registrations(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	if domains == nil {
		domains = []string{}
	}
	pending, err := s.registrations.PendingDomains(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, domainList{Domains: domains, Pending: pending})
	return nil
}

func (s *server) addDomain(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actManage)
	if err != nil {
		return err
	}
	var in domainBody
	if err := decode(r, &in); err != nil {
		return err
	}
	d, err := normDomain(in.Domain)
	if err != nil {
		return err
	}
	c, err := s.registrations.RequestDomain(r.Context(), acct.ID, d)
	if err != nil {
		return s.toProblem(r.Context(), err, "domain", d)
	}
	if c == nil {
		writeJSON(w, http.StatusOK, domainState{Domain: d, Status: regVerified})
		return nil
	}
	writeJSON(w, http.StatusCreated, domainState{Domain: d, Status: regPending, DomainChallenge: c,
		Verify: "publish TXT " + c.TXTName + " \"" + c.TXTValue + "\", then POST /v1/accounts/" + acct.ID + "/domains/" + d + "/verify (smsgate domain verify), or ask the operator to approve it (smsgate admin domain approve)"})
	return nil
}

// verifyDomain checks the TXT record of a pending domain and registers it.
func (s *server) verifyDomain(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actManage)
	if err != nil {
		return err
	}
	if s.lookupTXT == nil {
		return problemf(http.StatusServiceUnavailable, "unavailable", "domain verification: this instance has no DNS resolver configured")
	}
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(r.PathValue("domain"))), ".")
	err = s.registrations.VerifyDomain(r.Context(), acct.ID, d, s.lookupTXT)
	switch {
	case errors.Is(err, accounts.ErrVerification):
		return problemf(http.StatusUnprocessableEntity, "verification-failed", "domain: %s: %s", d, detailOf(err, accounts.ErrVerification))
	case errors.Is(err, accounts.ErrForeignAddresses):
		return problemf(http.StatusConflict, "domain-has-foreign-addresses", "domain: %s: %s; they would take its mail. Ask the operator", d, detailOf(err, accounts.ErrForeignAddresses))
	case err != nil && !errors.Is(err, accounts.ErrNotFound) && !errors.Is(err, accounts.ErrDomainTaken) && !errors.Is(err, accounts.ErrInvalid):
		var de *net.DNSError
		if errors.As(err, &de) {
			return problemf(http.StatusServiceUnavailable, "dns-unavailable", "domain: %s: the DNS lookup of %s failed (%s); try again", d, accounts.DomainChallengeName(d), de.Err)
		}
		return s.toProblem(r.Context(), err, "domain", d)
	case err != nil:
		return s.toProblem(r.Context(), err, "pending domain", d)
	}
	writeJSON(w, http.StatusOK, domainState{Domain: d, Status: regVerified})
	return nil
}

// detailOf is err's text from the sentinel on: "no TXT record ... found".
func detailOf(err, sentinel error) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()+": "); i >= 0 {
		return msg[i+len(sentinel.Error())+2:]
	}
	return msg
}

func (s *server) removeDomain(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actManage)
	if err != nil {
		return err
	}
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(r.PathValue("domain"))), ".")
	if err := s.registrations.RemoveDomain(r.Context(), acct.ID, d); err != nil {
		return s.toProblem(r.Context(), err, "domain", d)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listAddresses(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actRead)
	if err != nil {
		return err
	}
	_, addrs, err := s.registrations.Registrations(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	if addrs == nil {
		addrs = []string{}
	}
	pending, err := s.registrations.PendingAddresses(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, addressList{Addresses: addrs, Pending: pending})
	return nil
}

func (s *server) addAddress(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actManage)
	if err != nil {
		return err
	}
	var in addressBody
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := normAddress(in.Address)
	if err != nil {
		return err
	}
	token, err := s.registrations.RequestAddress(r.Context(), acct.ID, a)
	if err != nil {
		return s.toProblem(r.Context(), err, "address", a)
	}
	if token == "" {
		writeJSON(w, http.StatusCreated, addressState{Address: a, Status: regVerified})
		return nil
	}
	// Outside the tree's verified domains: only the mailbox's owner can
	// confirm. The token goes to the address, never to the caller.
	if s.mailer == nil {
		return problemf(http.StatusServiceUnavailable, "unavailable",
			"address: %s is outside this account's verified domains, so its owner must confirm it by mail, and this gateway has no mail relay configured (relay)", a)
	}
	exp := time.Now().Add(accounts.AddrConfirmTTL).UTC()
	body := "Account " + acct.Name + " (" + acct.ID + ") asked to send SMS by email as " + a + ".\n\n" +
		"If you agree, confirm it with this one-time token (valid until " + exp.Format(time.RFC1123) + "):\n\n    " + token + "\n\n" +
		"with the command\n\n    smsgate address confirm " + token + "\n\nor POST /v1/address-confirmations {\"token\": \"...\"} on the gateway's API.\n\n" +
		"If you did not expect this, ignore this mail: nothing is registered without the confirmation.\n"
	if err := s.mailer(r.Context(), a, "Confirm sending SMS as "+a, body); err != nil {
		s.log.Error("address confirmation not mailed", "account", acct.ID, "err", err)
		return problemf(http.StatusServiceUnavailable, "unavailable", "address: the confirmation mail to %s could not be queued; try again", a)
	}
	writeJSON(w, http.StatusAccepted, addressState{Address: a, Status: regPending, ExpiresAt: exp,
		Detail: "a one-time confirmation token was mailed to " + a + "; the address is registered once its owner confirms"})
	return nil
}

// confirmBody is the body of POST /v1/address-confirmations.
type confirmBody struct {
	Token string `json:"token"`
}

// confirmAddress registers the address a mailed token confirms: no API key,
// the token is the proof (held only by the mailbox's owner).
func (s *server) confirmAddress(w http.ResponseWriter, r *http.Request) error {
	if s.registrations == nil {
		return problemf(http.StatusServiceUnavailable, "unavailable", "this instance does not serve registrations")
	}
	var in confirmBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Token) == "" {
		return invalid("token: is required")
	}
	_, a, err := s.registrations.ConfirmAddress(r.Context(), in.Token)
	if errors.Is(err, accounts.ErrNotFound) {
		return problemf(http.StatusNotFound, "not-found", "token: unknown, already used or expired")
	}
	if err != nil {
		return s.toProblem(r.Context(), err, "address", a)
	}
	writeJSON(w, http.StatusOK, addressState{Address: a, Status: regVerified})
	return nil
}

func (s *server) removeAddress(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actManage)
	if err != nil {
		return err
	}
	a := strings.ToLower(strings.TrimSpace(r.PathValue("address")))
	if err := s.registrations.RemoveAddress(r.Context(), acct.ID, a); err != nil {
		return s.toProblem(r.Context(), err, "address", a)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
