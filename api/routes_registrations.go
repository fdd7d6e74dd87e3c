package api

import (
	"context"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// registrationRoutes are the routes of an account's email-to-SMS
// registrations: the domains and addresses whose mail it sends.
func (s *server) registrationRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/domains", true, s.h(s.listDomains)},
		{"POST /v1/accounts/{id}/domains", true, s.h(s.addDomain)},
		{"DELETE /v1/accounts/{id}/domains/{domain}", true, s.h(s.removeDomain)},
		{"GET /v1/accounts/{id}/addresses", true, s.h(s.listAddresses)},
		{"POST /v1/accounts/{id}/addresses", true, s.h(s.addAddress)},
		{"DELETE /v1/accounts/{id}/addresses/{address}", true, s.h(s.removeAddress)},
	}
}

// RegistrationStore is what the registrations area needs of the account
// store: the domains and addresses registered to an account.
type RegistrationStore interface {
	Registrations(ctx context.Context, accountID string) (domains, addresses []string, err error)
	AddDomain(ctx context.Context, accountID, domain string) error
	RemoveDomain(ctx context.Context, accountID, domain string) error
	AddAddress(ctx context.Context, accountID, address string) error
	RemoveAddress(ctx context.Context, accountID, address string) error
}

// domainBody is the body of POST /v1/accounts/{id}/domains.
type domainBody struct {
	Domain string `json:"domain"`
}

// addressBody is the body of POST /v1/accounts/{id}/addresses.
type addressBody struct {
	Address string `json:"address"`
}

// domainList and addressList are the bodies of the GET routes.
type domainList struct {
	Domains []string `json:"domains"`
}

type addressList struct {
	Addresses []string `json:"addresses"`
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
	writeJSON(w, http.StatusOK, domainList{Domains: domains})
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
	if err := s.registrations.AddDomain(r.Context(), acct.ID, d); err != nil {
		return s.toProblem(r.Context(), err, "domain", d)
	}
	writeJSON(w, http.StatusCreated, domainBody{Domain: d})
	return nil
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
	writeJSON(w, http.StatusOK, addressList{Addresses: addrs})
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
	if err := s.registrations.AddAddress(r.Context(), acct.ID, a); err != nil {
		return s.toProblem(r.Context(), err, "address", a)
	}
	writeJSON(w, http.StatusCreated, addressBody{Address: a})
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
