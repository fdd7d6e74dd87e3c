package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestConcatenatedReplies: a long reply sent in parts (8-bit and 16-bit UDH
// references, SAR TLVs), out of order and with a duplicate, cut inside a GSM
// escape and inside a UTF-16 surrogate pair, lands as one inbox entry with
// the whole text and one mail; a reply whose middle part never comes is
// delivered after the wait with what came, marked incomplete.
func TestConcatenatedReplies(t *testing.T) {
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		c.Inbound.ReassemblyWait = config.Duration(700 * time.Millisecond)
	})
	ctx := context.Background()
	const phone = "61412345678"
	rcpt := "0412345678@" + smsDomain
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "q1@x", "Can you call me?")); err != nil {
		t.Fatal(err)
	}
	g.waitFor("delivered", func() bool {
		msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 5)
		return len(msgs) == 1 && msgs[0].Status == accounts.MsgDelivered
	})
	gsm := strings.Repeat("a", 133) + "€ and the rest of a long GSM reply" // the cut at 134 falls inside € (0x1B 0x65)
	ucs := strings.Repeat("ж", 66) + "😀 конец"                             // the cut at 67 units falls inside the emoji's surrogate pair
	cases := []struct {
		name  string
		mo    smsctest.MO
		want  string
		wantN int // parts the handset sent
	}{
		{"udh8 out of order with a duplicate", smsctest.MO{Split: "udh8", Ref: 0x42, Parts: []int{2, 1, 2}, Text: gsm}, gsm, 2},
		{"udh16", smsctest.MO{Split: "udh16", Ref: 0x1234, Text: ucs}, ucs, 2},
		{"sar", smsctest.MO{Split: "sar", Ref: 0x0777, PartSize: 40, Text: gsm}, gsm, 5},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.mo.Source, tc.mo.Dest = phone, ourNumber
			mailsBefore := len(mailTo(g.sink.Mails(), "alice@example.com"))
			if err := g.sim.InjectMO(ctx, tc.mo); err != nil {
				t.Fatal(err)
			}
			var got []*accounts.Reply
			g.waitFor("the reply in the inbox", func() bool {
				got, _ = g.store.ListInbox(ctx, g.sub.ID, 50)
				return len(got) == i+1
			})
			r := got[0]
			if r.Text != tc.want || r.Incomplete || r.From != phone {
				t.Fatalf("reply %+v, want text %q", r, tc.want)
			}
			// One mail per reply, not one per part.
			g.waitFor("its mail", func() bool { return len(mailTo(g.sink.Mails(), "alice@example.com")) >= mailsBefore+1 })
			if n := len(mailTo(g.sink.Mails(), "alice@example.com")); n != mailsBefore+1 {
				t.Fatalf("%d mails for one reply", n-mailsBefore)
			}
		})
	}
	t.Run("incomplete after the wait", func(t *testing.T) {
		mo := smsctest.MO{Source: phone, Dest: ourNumber, Split: "udh8", Ref: 0x99, PartSize: 20, Parts: []int{1, 3},
			Text: strings.Repeat("x", 20) + strings.Repeat("y", 20) + "zz end"}
		if err := g.sim.InjectMO(ctx, mo); err != nil {
			t.Fatal(err)
		}
		var got []*accounts.Reply
		g.waitFor("the incomplete reply", func() bool {
			got, _ = g.store.ListInbox(ctx, g.sub.ID, 50)
			return len(got) == len(cases)+1
		})
		r := got[0]
		if !r.Incomplete || r.Text != strings.Repeat("x", 20)+" […] zz end" {
			t.Fatalf("incomplete reply %+v", r)
		}
		g.waitFor("its mail", func() bool {
			for _, m := range mailTo(g.sink.Mails(), "alice@example.com") {
				if strings.Contains(m.Data, "Incomplete: this reply came in several parts") {
					return true
				}
			}
			return false
		})
		// The missing part arriving late adds nothing.
		mo.Parts = []int{2}
		if err := g.sim.InjectMO(ctx, mo); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // past the wait: nothing may appear
		if got, _ := g.store.ListInbox(ctx, g.sub.ID, 50); len(got) != len(cases)+1 {
			t.Fatalf("%d replies after the late part, want %d", len(got), len(cases)+1)
		}
	})
}
