package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// TestOperatorUnrouted: the operator's routes open only with an operator
// key (not a tenant's key, not nothing); the operator lists and reads an
// unrouted reply and assigns it to the account whose it is.
func TestOperatorUnrouted(t *testing.T) {
	f := newFixture(t)
	const opKey = "sgo_test-operator-key"
	sums, err := ParseOperatorKeys([]string{OperatorKeyHash(opKey)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{Stores: storesOf(f.store), OperatorKeys: sums}))
	t.Cleanup(srv.Close)
	g := *f
	g.srv = srv
	r, _, err := f.store.RouteReply(t.Context(), accounts.Reply{From: "61499990000", To: "61480000000", Text: "Who is this?", ReceivedAt: time.Now()})
	if err != nil || r.AccountID != "" {
		t.Fatalf("unrouted reply: %+v, %v", r, err)
	}
	for _, key := range []string{"", f.rootKey, "sgo_wrong"} {
		p := g.problem(key, "GET", "/v1/operator/unrouted", nil, http.StatusUnauthorized)
		if !strings.Contains(p.Detail, "operator key") {
			t.Fatalf("key %q: %+v", key, p)
		}
	}
	var l unroutedList
	g.expect(opKey, "GET", "/v1/operator/unrouted", nil, http.StatusOK, &l)
	if len(l.Replies) != 1 || l.Replies[0].ID != r.ID || l.Replies[0].Text != "Who is this?" {
		t.Fatalf("list %+v", l)
	}
	var got accounts.Reply
	g.expect(opKey, "GET", "/v1/operator/unrouted/"+r.ID, nil, http.StatusOK, &got)
	g.problem(opKey, "POST", "/v1/operator/unrouted/"+r.ID+"/assign", map[string]any{"account_id": "a0-nosuch"}, http.StatusUnprocessableEntity)
	g.expect(opKey, "POST", "/v1/operator/unrouted/"+r.ID+"/assign", map[string]any{"account_id": f.subA.ID}, http.StatusOK, &got)
	if got.AccountID != f.subA.ID {
		t.Fatalf("assigned %+v", got)
	}
	g.problem(opKey, "POST", "/v1/operator/unrouted/"+r.ID+"/assign", map[string]any{"account_id": f.subB.ID}, http.StatusNotFound)
	g.problem(opKey, "GET", "/v1/operator/unrouted/"+r.ID, nil, http.StatusNotFound)
	// The tenant now sees it in its inbox.
	code, body, _ := f.do(f.subAKey, "GET", "/v1/inbox/"+r.ID, nil)
	if code != http.StatusOK || !strings.Contains(string(body), r.ID) {
		t.Fatalf("tenant inbox: %d %s", code, body)
	}
	// Without operator keys the routes are not open at all.
	f.problem(opKey, "GET", "/v1/operator/unrouted", nil, http.StatusServiceUnavailable)
}
