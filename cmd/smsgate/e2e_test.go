package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smpp"
)

// sendMail sends one mail through the gateway's SMTP listener with go-smtp's
// client and returns the reply to DATA (or the first refusal).
// sendMailEach sends like an MTA does: a refused recipient is noted and
// the mail goes on to the others. It returns the refusals by recipient, and
// the error of the transaction itself.
func (g *gateway) sendMailEach(from string, to []string, body string) (map[string]error, error) {
	g.t.Helper()
	c, err := gosmtp.Dial(g.smtpAddr)
	if err != nil {
		g.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.com"); err != nil {
		return nil, err
	}
	if err := c.Mail(from, nil); err != nil {
		return nil, err
	}
	refused := map[string]error{}
	for _, rc := range to {
		if err := c.Rcpt(rc, nil); err != nil {
			refused[rc] = err
		}
	}
	if len(refused) == len(to) {
		return refused, c.Quit()
	}
	w, err := c.Data()
	if err != nil {
		return refused, err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return refused, err
	}
	if err := w.Close(); err != nil {
		return refused, err
	}
	return refused, c.Quit()
}

func (g *gateway) sendMail(from string, to []string, body string) error {
	g.t.Helper()
	c, err := gosmtp.Dial(g.smtpAddr)
	if err != nil {
		g.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.com"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, rc := range to {
		if err := c.Rcpt(rc, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func plainMail(from, to, msgID, text string) string {
	return fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: hello\r\nMessage-ID: <%s>\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", from, to, msgID, text)
}

func smtpCode(t *testing.T, err error) (int, [3]int, string) {
	t.Helper()
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("want an SMTP error, got %v", err)
	}
	return se.Code, [3]int(se.EnhancedCode), se.Message
}

// TestEndToEnd: an email in, an SMS out over SMPP, its receipt, and a reply
// back in the owning sub-account's inbox and the sender's mailbox.
func TestEndToEnd(t *testing.T) { endToEnd(t, startGateway(t)) }

// TestEndToEndCluster runs the same journey on a real Redis Cluster of three
// masters, with the default shard count of a cluster.
func TestEndToEndCluster(t *testing.T) {
	g := startGateway(t, onCluster(t))
	endToEnd(t, g)
	// The data is on the cluster, over more than one master (the tree's
	// shard on one, global keys such as the domain registry anywhere).
	var mu sync.Mutex
	holding := 0
	err := g.rdb.(*redis.ClusterClient).ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error {
		n, err := c.DBSize(ctx).Result()
		mu.Lock()
		defer mu.Unlock()
		if n > 0 {
			holding++
		}
		return err
	})
	if err != nil || holding < 2 {
		t.Errorf("%d of 3 masters hold keys (%v)", holding, err)
	}
}

func endToEnd(t *testing.T, g *gateway) {
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()

	body := "Meeting moved to 3pm.\r\nBring the Q3 report.\r\n\r\n-- \r\nAlice Smith\r\nExample Pty Ltd"
	if err := g.sendMail("alice@example.com", []string{"0412-345-678@" + smsDomain},
		plainMail("Alice <alice@example.com>", "0412345678@"+smsDomain, "m1@example.com", body)); err != nil {
		t.Fatalf("send: %v", err)
	}
	got, err := g.sim.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatalf("simulator got %d messages: %v", len(got), err)
	}
	sms := got[0]
	if want := "Meeting moved to 3pm.\nBring the Q3 report."; sms.Text != want {
		t.Errorf("SMS text %q, want %q (signature stripped)", sms.Text, want)
	}
	if sms.Dest != "61412345678" || sms.Source != ourNumber || sms.Coding != smpp.CodingGSM7 || sms.Parts != 1 {
		t.Errorf("SMS dest %s source %s coding %d parts %d", sms.Dest, sms.Source, sms.Coding, sms.Parts)
	}

	// Balance and ledger: one part at 5.
	if b := g.balance(g.sub.ID); b != 95 {
		t.Errorf("sub balance %d, want 95", b)
	}
	entries, err := g.store.Ledger(ctx, g.sub.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, e := range entries {
		sum += e.Amount
	}
	if sum != 95 {
		t.Errorf("ledger sums to %d, balance is 95", sum)
	}

	// Receipt.
	msgs, err := g.store.ListMessages(ctx, g.sub.ID, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages %v %v", msgs, err)
	}
	id := msgs[0].ID
	// The receipt can overtake the record of the submit (its SMSC-id index
	// is written first): wait for both.
	g.waitFor("delivered", func() bool { m := g.message(id); return m.Status == accounts.MsgDelivered && m.Link != "" })
	m := g.message(id)
	if m.SMSCID == "" || m.Link != "sim" || m.Sender != "alice@example.com" {
		t.Errorf("message %+v", m)
	}

	// Reply from the phone lands in the sub-account's inbox, linked to the
	// message, and is mailed back to alice threaded under her mail.
	if err := g.sim.InjectMO(ctx, smsMO("61412345678", ourNumber, "Thanks, see you at 3")); err != nil {
		t.Fatal(err)
	}
	var replies []*accounts.Reply
	g.waitFor("reply in inbox", func() bool {
		replies, _ = g.store.ListInbox(ctx, g.sub.ID, 10)
		return len(replies) == 1
	})
	if r := replies[0]; r.MessageID != id || r.Sender != "alice@example.com" || r.Text != "Thanks, see you at 3" {
		t.Errorf("reply %+v", r)
	}
	mails, err := g.sink.Wait(ctx, 1)
	if err != nil {
		t.Fatalf("reply mail: %v", err)
	}
	// Threaded under her mail's Message-ID (RFC 5322 §3.6.4), so that
	// Outlook files it in her conversation.
	if mails[0].To[0] != "alice@example.com" || !strings.Contains(mails[0].Data, "In-Reply-To: <m1@example.com>") ||
		!strings.Contains(mails[0].Data, "References: <m1@example.com>") ||
		!strings.Contains(mails[0].Data, "Thanks, see you at 3") {
		t.Errorf("reply mail %+v", mails[0])
	}

	// The API shows it all.
	if code, body := g.get("/v1/messages/" + id); code != 200 || !strings.Contains(body, `"delivered"`) {
		t.Errorf("GET message: %d %s", code, body)
	}
	if code, body := g.get("/v1/inbox?account=" + g.sub.ID); code != 200 || !strings.Contains(body, "see you at 3") {
		t.Errorf("GET inbox: %d %s", code, body)
	}
}
