package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestNetSMPPPeer runs smsgate against an SMSC written on another SMPP
// library, Net::SMPP (scripts/peers/netsmpp_smsc.pl; scripts/test.sh
// installs libnet-smpp-perl when missing). That SMSC answers every
// submit_sm at twice the link's response_timeout and replies to the first
// with a reply concatenated in two parts, part 2 first. One mail is one
// submit_sm (the late response matched, nothing resent), recorded with the
// peer's message id; the reply lands as one inbox entry with the whole text.
func TestNetSMPPPeer(t *testing.T) {
	if err := exec.Command("perl", "-MNet::SMPP", "-e1").Run(); err != nil {
		t.Skip("Perl's Net::SMPP is not installed (scripts/test.sh installs libnet-smpp-perl): ", err)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	script, _ := filepath.Abs("../../scripts/peers/netsmpp_smsc.pl")
	part1, part2 := "Yes, call me after ", "five. Thanks!"
	cmd := exec.Command("perl", script, port, "0.6", part1, part2)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	events := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			events <- sc.Text()
		}
		close(events)
	}()
	wait := func(prefix string) string {
		t.Helper()
		deadline := time.After(e2eWait)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("the Net::SMPP SMSC ended before %q", prefix)
				}
				if strings.HasPrefix(e, prefix) {
					return e
				}
			case <-deadline:
				t.Fatalf("timed out waiting for %q from the Net::SMPP SMSC", prefix)
			}
		}
	}
	wait("LISTEN")
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		l := config.DefaultLink()
		l.Name, l.Addr, l.SystemID, l.Password, l.Country = "netsmpp", addr, "smsgate", "secret", "AU"
		l.ResponseTimeout = config.Duration(300 * time.Millisecond)
		// Silence is counted from the bind response: a submit sent a few
		// hundred ms after the bind (a loaded CI machine) must not make the
		// late response look like a dead SMSC.
		l.TimeoutsBeforeRebind = 10
		l.OutcomeWait = config.Duration(10 * time.Second)
		l.RegisteredDelivery = false
		c.Links = []config.Link{l}
	})
	wait("BOUND smsgate")
	ctx := context.Background()
	rcpt := "0412345678@" + smsDomain
	if err := g.sendMail("alice@example.com", []string{rcpt}, plainMail("alice@example.com", rcpt, "peer1@x", "Can we talk today?")); err != nil {
		t.Fatal(err)
	}
	sub := wait("SUBMIT")
	f := strings.Fields(sub)
	if len(f) != 3 || f[1] != "61412345678" {
		t.Fatalf("submit %q", sub)
	}
	if body, _ := hex.DecodeString(f[2]); string(body) != "Can we talk today?" {
		t.Fatalf("submit body %q", body)
	}
	g.waitFor("the late response recorded", func() bool {
		msgs, _ := g.store.ListMessages(ctx, g.sub.ID, 5)
		return len(msgs) == 1 && msgs[0].Status == accounts.MsgSubmitted && strings.EqualFold(msgs[0].SMSCID, "NS0001")
	})
	g.waitFor("the reassembled reply", func() bool {
		rs, _ := g.store.ListInbox(ctx, g.sub.ID, 10)
		return len(rs) == 1 && rs[0].Text == part1+part2
	})
	// Nothing resent: a second submit would be reported.
	select {
	case e := <-events:
		if strings.HasPrefix(e, "SUBMIT") {
			t.Fatalf("a second submit_sm reached the SMSC: %q", e)
		}
	default:
	}
	if rs, _ := g.store.ListInbox(ctx, g.sub.ID, 10); len(rs) != 1 || rs[0].Incomplete {
		t.Fatalf("inbox %+v, want one complete reply", rs)
	}
}
