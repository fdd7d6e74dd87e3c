package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestSourcePoolTwoTenants: tenant B cannot register inside tenant A's domain;
// the two tenants (two parent accounts) text the same
// phone through a gateway with a pool of two shared numbers. Each gets its
// own number; the phone's replies and its STOP reach the tenant whose
// conversation they answer, whatever order they come in; a third sender on
// that phone finds the pool exhausted (451, nothing charged), while another
// phone still gets a number.
func TestSourcePoolTwoTenants(t *testing.T) {
	pool := []string{"61480000101", "61480000102"}
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) { c.Dispatch.SourcePool = pool })
	ctx := context.Background()
	// Tenant B: another root with its own domain and funds.
	b, err := g.store.CreateAccount(ctx, accounts.Account{Name: "Tenant B", DefaultCountry: "AU", PricePerPart: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.store.Credit(ctx, b.ID, 1000, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	if err := g.store.AddDomain(ctx, b.ID, "tenant-b.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.store.SetSenderPolicy(ctx, b.ID, &loopbackPolicy); err != nil {
		t.Fatal(err)
	}
	// Tenant B cannot register an address inside A's domain (it would take
	// A's mail), nor claim A's domain.
	bKey, _, err := g.store.CreateKey(ctx, b.ID, accounts.RoleSubAdmin, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := g.doAs(bKey, "POST", "/v1/accounts/"+b.ID+"/addresses", `{"address":"alice@example.com"}`); code != http.StatusConflict || !strings.Contains(body, "address-in-other-domain") {
		t.Fatalf("B registers alice@example.com: %d %s", code, body)
	}
	if code, body := g.doAs(bKey, "POST", "/v1/accounts/"+b.ID+"/domains", `{"domain":"example.com"}`); code != http.StatusConflict || !strings.Contains(body, "domain-taken") {
		t.Fatalf("B asks for example.com: %d %s", code, body)
	}
	const phone = "61412345678"
	rcpt := "0412345678@" + smsDomain
	send := func(from, id, text string) error {
		return g.sendMail(from, []string{rcpt}, plainMail(from, rcpt, id, text))
	}
	if err := send("alice@example.com", "a1@x", "Hello from A"); err != nil {
		t.Fatal(err)
	}
	if err := send("bob@tenant-b.example", "b1@x", "Hello from B"); err != nil {
		t.Fatal(err)
	}
	// alice@example.com's mail is still A's (it was sent, and charged to A).
	g.waitFor("both SMS delivered", func() bool {
		n := 0
		for _, acct := range []string{g.sub.ID, b.ID} {
			msgs, _ := g.store.ListMessages(ctx, acct, 10)
			for _, m := range msgs {
				if m.Status == accounts.MsgDelivered {
					n++
				}
			}
		}
		return n == 2
	})
	src := map[string]string{} // text -> source number at the carrier
	for _, m := range g.sim.Messages() {
		src[m.Text] = m.Source
	}
	numA, numB := src["Hello from A"], src["Hello from B"]
	if numA == numB || !strings.HasPrefix(numA, "614800001") || !strings.HasPrefix(numB, "614800001") {
		t.Fatalf("sources: A %q, B %q: want two different pool numbers", numA, numB)
	}
	// A texts again: the same number (sticky).
	if err := send("alice@example.com", "a2@x", "Again from A"); err != nil {
		t.Fatal(err)
	}
	g.waitFor("A's second SMS", func() bool {
		for _, m := range g.sim.Messages() {
			if m.Text == "Again from A" {
				if m.Source != numA {
					t.Fatalf("second SMS of A from %s, want %s", m.Source, numA)
				}
				return true
			}
		}
		return false
	})
	// The phone answers B first, then A: each reply to its own tenant.
	if err := g.sim.InjectMO(ctx, smsMO(phone, numB, "Reply to B")); err != nil {
		t.Fatal(err)
	}
	if err := g.sim.InjectMO(ctx, smsMO(phone, numA, "Reply to A")); err != nil {
		t.Fatal(err)
	}
	inbox := func(acct, text string) bool {
		rs, _ := g.store.ListInbox(ctx, acct, 20)
		for _, r := range rs {
			if r.Text == text {
				return true
			}
		}
		return false
	}
	g.waitFor("both replies routed", func() bool { return inbox(g.sub.ID, "Reply to A") && inbox(b.ID, "Reply to B") })
	if inbox(g.sub.ID, "Reply to B") || inbox(b.ID, "Reply to A") {
		t.Fatal("a reply reached the other tenant")
	}
	// STOP to B's number opts the phone out of B only.
	if err := g.sim.InjectMO(ctx, smsMO(phone, numB, "STOP")); err != nil {
		t.Fatal(err)
	}
	g.waitFor("B's opt-out", func() bool {
		o, err := g.store.GetOptOut(ctx, b.ID, phone)
		return err == nil && o != nil
	})
	if o, err := g.store.GetOptOut(ctx, g.sub.ID, phone); err == nil && o != nil {
		t.Fatalf("STOP to B's number opted the phone out of A: %+v", o)
	}
	// A third sender on the same phone: both numbers are held. Deferred,
	// not mis-routed, and nothing charged.
	before := g.balance(g.sub.ID)
	code, _, text := smtpCode(t, send("carol@example.com", "c1@x", "Hello from Carol"))
	if code != 451 || !strings.Contains(text, "every shared source number has an open conversation with *******5678") {
		t.Fatalf("third sender: %d %q", code, text)
	}
	if got := g.balance(g.sub.ID); got != before {
		t.Fatalf("balance %d -> %d: a deferred mail was charged", before, got)
	}
	// Another phone still gets a number.
	other := "0412345679@" + smsDomain
	if err := g.sendMail("carol@example.com", []string{other}, plainMail("carol@example.com", other, "c2@x", "Other phone")); err != nil {
		t.Fatal(err)
	}
	_, metrics := g.get("/metrics")
	if !strings.Contains(metrics, "smsgate_router_pool_exhausted_total 1") {
		t.Errorf("metrics lack smsgate_router_pool_exhausted_total 1")
	}
	// The API says the same, as a problem.
	code2, body := g.do("POST", "/v1/messages", `{"to":["0412345678"],"text":"From the parent"}`)
	if code2 != http.StatusServiceUnavailable || !strings.Contains(body, "pool-exhausted") {
		t.Fatalf("API send with the pool exhausted: %d %s", code2, body)
	}
}
