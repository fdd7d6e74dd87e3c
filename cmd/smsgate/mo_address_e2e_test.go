package main

import (
	"context"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestReplyAddressForms: a carrier writes the phone and our number in any
// form (+ and international TON, national with a trunk 0 and TON 2, our
// number with '+'); each reply finds its conversation, none is unrouted.
func TestReplyAddressForms(t *testing.T) {
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		l := config.DefaultLink()
		l.Name, l.Country = "sim", "AU"
		c.Links = []config.Link{l}
	})
	ctx := context.Background()
	rcpt := "0412345678@" + smsDomain
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "f1@x", "Which form?")); err != nil {
		t.Fatal(err)
	}
	g.waitFor("delivered", func() bool {
		msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 5)
		return len(msgs) == 1 && msgs[0].Status == accounts.MsgDelivered
	})
	forms := []smsctest.MO{
		{Source: "+61412345678", Dest: ourNumber, Text: "plus", SetTON: true, SourceTON: 1, DestTON: 1},
		{Source: "0412345678", Dest: ourNumber, Text: "national", SetTON: true, SourceTON: 2, DestTON: 1},
		{Source: "0061412345678", Dest: ourNumber, Text: "double zero", SetTON: true, SourceTON: 0, DestTON: 1},
		{Source: "61412345678", Dest: "+" + ourNumber, Text: "our number with plus", SetTON: true, SourceTON: 1, DestTON: 0},
		{Source: "0412345678", Dest: "0480000000", Text: "both national", SetTON: true, SourceTON: 2, DestTON: 2},
	}
	for _, mo := range forms {
		if err := g.sim.InjectMO(ctx, mo); err != nil {
			t.Fatal(err)
		}
	}
	g.waitFor("every form in the inbox", func() bool {
		rs, _ := g.store.ListInbox(ctx, g.sub.ID, 20)
		return len(rs) == len(forms)
	})
	for _, r := range mustInbox(t, g, g.sub.ID) {
		if r.From != "61412345678" || r.To != ourNumber || r.MessageID == "" {
			t.Errorf("reply %q: from %q to %q message %q", r.Text, r.From, r.To, r.MessageID)
		}
	}
	if un, _ := g.store.ListInbox(ctx, "", 10); len(un) != 0 {
		t.Fatalf("%d replies unrouted", len(un))
	}
}

func mustInbox(t *testing.T, g *gateway, acct string) []*accounts.Reply {
	t.Helper()
	rs, err := g.store.ListInbox(context.Background(), acct, 50)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
