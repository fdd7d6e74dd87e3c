package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// Problem is an RFC 9457 problem details object, the body of every error
// response (media type application/problem+json).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Need and Have are extension members of the insufficient-balance
	// problem, in minor units.
	Need *int64 `json:"need,omitempty"`
	Have *int64 `json:"have,omitempty"`
	// Limit, Max and RetryAfter are extension members of the
	// limit-exceeded problem (429): the limit's name, its value and the
	// seconds until its window rolls over (also the Retry-After header).
	Limit      string `json:"limit,omitempty"`
	Max        *int64 `json:"max,omitempty"`
	RetryAfter int64  `json:"retry_after,omitempty"`
	// Used is an extension member of the quota-exceeded problem (409, with
	// Limit the quota's name and Max its value): how much is in use.
	Used *int64 `json:"used,omitempty"`
}

// Error makes a *Problem usable as an error inside handlers: returning one
// sends it as it is.
func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// problemBase is the prefix of every problem type URI; the suffix names the
// kind, e.g. "urn:smsgate:problem:not-found".
const problemBase = "urn:smsgate:problem:"

// problemf builds a Problem of a kind with a formatted detail.
func problemf(status int, kind, format string, args ...any) *Problem {
	return &Problem{
		Type:   problemBase + kind,
		Title:  http.StatusText(status),
		Status: status,
		Detail: fmt.Sprintf(format, args...),
	}
}

// Common problems.
func notFound(what, id string) *Problem {
	return problemf(http.StatusNotFound, "not-found", "%s %s not found", what, id)
}

func badRequest(format string, args ...any) *Problem {
	return problemf(http.StatusBadRequest, "bad-request", format, args...)
}

func invalid(format string, args ...any) *Problem {
	return problemf(http.StatusUnprocessableEntity, "invalid", format, args...)
}

func forbidden(format string, args ...any) *Problem {
	return problemf(http.StatusForbidden, "forbidden", format, args...)
}

// writeProblem sends p.
func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(p.RetryAfter, 10))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON sends v as JSON with status.
// Under hide_pricing (a *pricingWriter) it goes without its money members.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	data := buf.Bytes()
	if _, hide := w.(*pricingWriter); hide {
		data = withoutMoney(data)
	}
	_, _ = w.Write(data)
}

// newRef returns a short random reference that ties a 500 response to its
// log line.
func newRef() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// toProblem is the one mapping from an error to the problem the client sees.
// what and id say where the error happened ("account", "a0-x"); field names
// the request field for registration errors. Unknown errors become a 500
// whose detail carries only a reference; the error itself is logged.
func (s *server) toProblem(ctx context.Context, err error, what, id string) *Problem {
	var p *Problem
	var be *accounts.BalanceError
	var le *accounts.LimitError
	var ce *accounts.CreditError
	var qe *accounts.QuotaError
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &le):
		return limitProblem(le, describe(what, id))
	case errors.As(err, &be) && hidesPricing(principalFrom(ctx)):
		return problemf(http.StatusUnprocessableEntity, "insufficient-balance",
			"amount: %s cannot pay for this (its balance is hidden from its members: ask its parent account's administrators)", describe(what, id))
	case errors.As(err, &be):
		// be.Error() names the credit limit and a failed auto-recharge too.
		p := problemf(http.StatusUnprocessableEntity, "insufficient-balance",
			"amount: %s has %s", describe(what, id), be.Error())
		need, have := be.Need, be.Have
		p.Need, p.Have = &need, &have
		return p
	case errors.As(err, &qe):
		p := problemf(http.StatusConflict, "quota-exceeded", "%s", qe.Error())
		limit, used := qe.Limit, qe.Used
		p.Limit, p.Max, p.Used = qe.Quota, &limit, &used
		return p
	case errors.As(err, &ce):
		return problemf(http.StatusUnprocessableEntity, "insufficient-credit", "%s", ce.Error())
	case errors.Is(err, accounts.ErrInsufficientBalance):
		return problemf(http.StatusUnprocessableEntity, "insufficient-balance",
			"amount: %s has insufficient balance", describe(what, id))
	case errors.Is(err, accounts.ErrNotFound):
		return notFound(what, id)
	case errors.Is(err, accounts.ErrDomainTaken):
		return problemf(http.StatusConflict, "domain-taken", "domain: %s is already registered to another account", id)
	case errors.Is(err, accounts.ErrAddressInOtherDomain):
		return problemf(http.StatusConflict, "address-in-other-domain",
			"address: %s is inside a domain that another account has registered; only that account can register its addresses", id)
	case errors.Is(err, accounts.ErrAddressTaken):
		return problemf(http.StatusConflict, "address-taken", "address: %s is already registered to another account", id)
	case errors.Is(err, accounts.ErrPublicDomain):
		return invalid("domain: %s is a public suffix or a free mail domain and cannot be registered (register single addresses at it instead)", id)
	case errors.Is(err, accounts.ErrDeactivated):
		return forbidden("%s is deactivated", describe(what, id))
	case errors.Is(err, accounts.ErrStorageFull):
		return problemf(http.StatusInsufficientStorage, "storage-full",
			"the gateway's storage is nearly full; nothing was sent or charged; send the same request again later")
	case errors.Is(err, accounts.ErrNotReplicated):
		return problemf(http.StatusServiceUnavailable, "not-replicated",
			"not yet stored safely: too few Redis replicas confirmed it in time; send the same request again (with its Idempotency-Key) later")
	case errors.Is(err, accounts.ErrInvalid):
		// The store's validation errors are written for the client: they
		// name the field and the value.
		msg := err.Error()
		if i := strings.LastIndex(msg, accounts.ErrInvalid.Error()+": "); i >= 0 {
			msg = msg[i+len(accounts.ErrInvalid.Error())+2:]
		}
		return invalid("%s", msg)
	case errors.Is(err, context.DeadlineExceeded):
		return problemf(http.StatusServiceUnavailable, "timeout", "the request timed out; try again")
	}
	ref := newRef()
	s.log.ErrorContext(ctx, "request error", "ref", ref, "what", what, "err", err)
	return problemf(http.StatusInternalServerError, "internal", "internal error (ref %s)", ref)
}

func describe(what, id string) string {
	if id == "" {
		return what
	}
	return what + " " + id
}

// limitProblem is a send refused by one of the account's limits
// (accounts/limits.go): 429 with the limit's name and value, and
// Retry-After when its window rolls over; 422 for a send larger than the
// limit itself (more numbers than the per-minute limit). Nothing was
// charged.
func limitProblem(le *accounts.LimitError, where string) *Problem {
	limit := le.Max
	if le.Never() {
		// Larger than the limit itself: no retry would pass.
		p := problemf(http.StatusUnprocessableEntity, "limit-exceeded", "%s: %s", where, le.Error())
		p.Limit, p.Max = le.Limit, &limit
		return p
	}
	p := problemf(http.StatusTooManyRequests, "limit-exceeded", "%s: %s", where, le.Error())
	p.Limit, p.Max, p.RetryAfter = le.Limit, &limit, le.RetrySeconds()
	return p
}
