package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestRedisFrozenMidLoad (issue 12, item 5): Redis stops answering (SIGSTOP)
// for four seconds while mail streams in. The accepts in flight time out
// (redis.timeout, 500 ms here; 451 to their clients) though their scripts
// wait in Redis's socket buffers and run when it resumes; the clients send
// those mails again, as MTAs do.
// Every mail, with a Message-ID or without one, is sent once and charged
// once: a script is never re-sent by the Redis client, and a retried mail is
// recognised by its Message-ID or by the digest of its bytes.
func TestRedisFrozenMidLoad(t *testing.T) {
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		c.Redis.Timeout = config.Duration(500 * time.Millisecond)
		// A queue read that timed out may still have run when Redis
		// resumed: its entries are pending for this consumer, and it
		// claims them back after claim_idle (120s by default, which a
		// test would not wait for; the link's outcome wait must stay below).
		c.Dispatch.ClaimIdle = config.Duration(8 * time.Second)
		l := config.DefaultLink()
		l.Name, l.ResponseTimeout, l.OutcomeWait = "sim", config.Seconds(2), config.Seconds(5)
		c.Links = []config.Link{l}
	})
	ctx := t.Context()
	if _, _, err := g.store.Transfer(ctx, g.parent.ID, g.sub.ID, 900, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	const clients, perClient = 4, 25
	rcpt := "0412345678@" + smsDomain
	load := startMTALoad(g, rcpt, clients, perClient, 60, 100*time.Millisecond, func(c, i int) string {
		body := "From: alice@example.com\r\nTo: " + rcpt + "\r\nDate: Sat, 05 Dec 2026 09:00:00 +1000\r\n"
		if i%2 == 0 { // half of them without a Message-ID
			body += fmt.Sprintf("Message-ID: <%d.%d@example.com>\r\n", c, i)
		}
		return body + "Subject: hello\r\n\r\n" + fmt.Sprintf("mail %d of client %d", i, c) + "\r\n"
	})
	load.waitQuarter(t) // a quarter through: freeze Redis
	if err := g.redis.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Logf("frozen at %d accepted", load.accepted.Load())
	time.Sleep(4 * time.Second) // the stall itself, past the client's retries of reads: nothing to await
	t.Logf("thawed at %d accepted, %d refusals", load.accepted.Load(), load.refusals.Load())
	if err := g.redis.Thaw(); err != nil {
		t.Fatal(err)
	}
	load.wait(t)
	if load.refusals.Load() == 0 {
		t.Fatal("no mail was refused while Redis was frozen: the stall was not exercised")
	}

	const n = clients * perClient
	g.waitSentOnce(n)
	if b := g.balance(g.sub.ID); b != 1000-5*n {
		t.Errorf("balance %d, want %d (each mail charged once)", b, 1000-5*n)
	}
	t.Logf("%d mails, %d refusals (451 or a timeout) retried", n, load.refusals.Load())
}

// mtaLoad is mail sent by several clients at once, each mail sent again
// after a pause until it is answered 250, as an MTA retries a deferral.
type mtaLoad struct {
	wg                 sync.WaitGroup
	errs               chan error
	accepted, refusals atomic.Int64
	quarter            chan struct{} // closed once a quarter of the mails are accepted
}

// startMTALoad sends clients x perClient mails to rcpt, mail i of client c
// being body(c, i), each tried at most tries times, pause apart.
func startMTALoad(g *gateway, rcpt string, clients, perClient, tries int, pause time.Duration, body func(c, i int) string) *mtaLoad {
	l := &mtaLoad{errs: make(chan error, clients), quarter: make(chan struct{})}
	for c := range clients {
		l.wg.Go(func() {
			for i := range perClient {
				for try := 0; ; try++ {
					err := sendOnce(g.smtpAddr, rcpt, body(c, i))
					if err == nil {
						break
					}
					l.refusals.Add(1)
					if try == tries {
						l.errs <- fmt.Errorf("mail %d of client %d: still refused after %d tries: %w", i, c, try, err)
						return
					}
					time.Sleep(pause) // an MTA's retry, much shortened
				}
				if l.accepted.Add(1) == int64(clients*perClient/4) {
					close(l.quarter)
				}
			}
		})
	}
	return l
}

// waitQuarter waits until a quarter of the mails are accepted.
func (l *mtaLoad) waitQuarter(t *testing.T) {
	t.Helper()
	select {
	case <-l.quarter:
	case <-time.After(e2eWait):
		t.Fatal("no mail accepted")
	}
}

// wait waits for every client to end and fails the test for each mail
// never accepted.
func (l *mtaLoad) wait(t *testing.T) {
	t.Helper()
	l.wg.Wait()
	close(l.errs)
	for err := range l.errs {
		t.Error(err)
	}
}

// sendOnce sends one mail on a new connection and reports any failure,
// with a bound on the whole transaction.
func sendOnce(addr, rcpt, body string) error {
	c, err := gosmtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = 10*time.Second, 10*time.Second
	if err := c.Hello("client.example.com"); err != nil {
		return err
	}
	if err := c.Mail("alice@example.com", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(strings.ReplaceAll(body, "\r\n", "\r\n"))); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
