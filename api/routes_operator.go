package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// The operator's routes (/v1/operator/...): what the operator of the
// gateway, not a tenant, does over HTTP. They take an operator key as the
// bearer token, whose SHA-256 is in the configuration (http.operator_keys,
// made with `smsgate admin operator-key`); an account's API key is never an
// operator key. Without operator keys configured they answer 503.

// operatorRoutes are the routes of the unrouted inbox.
func (s *server) operatorRoutes() []route {
	return []route{
		{"GET /v1/operator/unrouted", false, s.operator(s.listUnrouted)},
		{"GET /v1/operator/unrouted/{reply}", false, s.operator(s.getUnrouted)},
		{"POST /v1/operator/unrouted/{reply}/assign", false, s.operator(s.assignUnrouted)},
	}
}

// OperatorStore is what the operator's routes need of the account store.
type OperatorStore interface {
	ListInbox(ctx context.Context, accountID string, limit int) ([]*accounts.Reply, error)
	GetReply(ctx context.Context, id string) (*accounts.Reply, error)
	AssignReply(ctx context.Context, replyID, accountID string) (*accounts.Reply, error)
}

// ReplyEvents fires the reply.received webhook of an assigned reply
// (*webhook.Service).
type ReplyEvents interface {
	Reply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) error
}

// operator wraps a handler of an operator route: the bearer token must be
// one of the configured operator keys (compared by SHA-256, in constant
// time).
func (s *server) operator(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	h := s.h(fn)
	return func(w http.ResponseWriter, r *http.Request) {
		if len(s.operatorKeys) == 0 || s.operatorStore == nil {
			writeProblem(w, problemf(http.StatusServiceUnavailable, "unavailable", "this instance has no operator keys configured (http.operator_keys)"))
			return
		}
		secret, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(secret))
		match := 0
		for _, k := range s.operatorKeys {
			match |= subtle.ConstantTimeCompare(sum[:], k)
		}
		if !ok || match != 1 {
			s.unauthorized(w, "authorization: an operator key is required")
			return
		}
		h(w, r)
	}
}

// ParseOperatorKeys decodes configured operator key hashes ("sha256:<hex>",
// as http.operator_keys holds them).
func ParseOperatorKeys(in []string) ([][]byte, error) {
	out := make([][]byte, 0, len(in))
	for _, k := range in {
		hexSum, ok := strings.CutPrefix(k, "sha256:")
		b, err := hex.DecodeString(hexSum)
		if !ok || err != nil || len(b) != sha256.Size {
			return nil, errors.New("operator key hash: want sha256:<64 hex digits>")
		}
		out = append(out, b)
	}
	return out, nil
}

// OperatorKeyHash is the configuration form of an operator key.
func OperatorKeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

type unroutedList struct {
	Replies []*accounts.Reply `json:"replies"`
}

func (s *server) listUnrouted(w http.ResponseWriter, r *http.Request) error {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return invalid("limit: %q must be between 1 and 1000", v)
		}
		limit = n
	}
	rs, err := s.operatorStore.ListInbox(r.Context(), "", limit)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []*accounts.Reply{}
	}
	writeJSON(w, http.StatusOK, unroutedList{Replies: rs})
	return nil
}

func (s *server) getUnrouted(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("reply")
	rp, err := s.operatorStore.GetReply(r.Context(), id)
	if err != nil || rp.AccountID != "" {
		return notFound("unrouted reply", id)
	}
	writeJSON(w, http.StatusOK, rp)
	return nil
}

type assignBody struct {
	AccountID string `json:"account_id"`
}

func (s *server) assignUnrouted(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("reply")
	var in assignBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.AccountID == "" {
		return invalid("account_id: is required")
	}
	rp, err := s.operatorStore.AssignReply(r.Context(), id, in.AccountID)
	switch {
	case errors.Is(err, accounts.ErrNotFound): // unknown, or already in an account's inbox
		return notFound("unrouted reply", id)
	case err != nil:
		return s.toProblem(r.Context(), err, "reply", id)
	}
	if ev, ok := s.webhooks.(ReplyEvents); ok {
		if err := ev.Reply(r.Context(), rp, nil); err != nil {
			s.log.ErrorContext(r.Context(), "reply event of an assigned reply", "err", err, "reply", rp.ID)
		}
	}
	writeJSON(w, http.StatusOK, rp)
	return nil
}
