package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestGroupSendEndToEnd: the parent creates a group of
// three contacts and shares it with the sub-account; the sub mails
// all-staff@<sms-domain> and three SMS reach the carrier, priced three
// times; the parent adds a member and the next group mail reaches four;
// the parent revokes the sharing and the next mail is refused with 550
// 5.1.1. Needs smtp.Options.Groups wired in serve.go.
func TestGroupSendEndToEnd(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	api := func(method, path, body string, want int) string {
		t.Helper()
		code, out := g.do(method, path, body)
		if code != want {
			t.Fatalf("%s %s: %d %s", method, path, code, out)
		}
		return out
	}
	groups := "/v1/accounts/" + g.parent.ID + "/groups"
	var grp struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(api("POST", groups, `{"name": "All Staff"}`, 201)), &grp); err != nil {
		t.Fatal(err)
	}
	api("POST", groups+"/"+grp.ID+"/members", `{"numbers": ["0412000001", "0412000002", "+61412000003"]}`, 200)
	api("PUT", groups+"/"+grp.ID+"/sharing", fmt.Sprintf(`{"sub_accounts": [%q]}`, g.sub.ID), 200)

	rcpt := "all-staff@" + smsDomain
	send := func(n int) error {
		return g.sendMail("alice@example.com", []string{rcpt},
			plainMail("alice@example.com", rcpt, fmt.Sprintf("grp%d@example.com", n), "Fire drill at 10"))
	}
	dests := func(want int) []string {
		t.Helper()
		got, err := g.sim.WaitMessages(ctx, want)
		if err != nil {
			t.Fatalf("simulator got %d messages, want %d: %v", len(got), want, err)
		}
		var out []string
		for _, m := range got {
			if m.Text != "Fire drill at 10" {
				t.Errorf("SMS text %q", m.Text)
			}
			out = append(out, m.Dest)
		}
		slices.Sort(out)
		return out
	}

	start := g.balance(g.sub.ID)
	if err := send(1); err != nil {
		t.Fatalf("first group mail: %v", err)
	}
	if got, want := dests(3), []string{"61412000001", "61412000002", "61412000003"}; !slices.Equal(got, want) {
		t.Fatalf("SMS to %v, want %v", got, want)
	}
	if b := g.balance(g.sub.ID); b != start-3*5 {
		t.Fatalf("sub balance %d, want %d (three messages at 5)", b, start-15)
	}

	// The parent's change reaches the sub at once (shared by reference).
	api("POST", groups+"/"+grp.ID+"/members", `{"numbers": ["0412000004"]}`, 200)
	if err := send(2); err != nil {
		t.Fatalf("second group mail: %v", err)
	}
	if got := dests(7); len(got) != 7 || !slices.Contains(got, "61412000004") {
		t.Fatalf("SMS after the new member: %v", got)
	}
	if b := g.balance(g.sub.ID); b != start-7*5 {
		t.Fatalf("sub balance %d, want %d", b, start-35)
	}

	// Revoked: the group no longer exists for the sub.
	api("DELETE", groups+"/"+grp.ID+"/sharing/"+g.sub.ID, "", 200)
	err := send(3)
	code, enh, msg := smtpCode(t, err)
	if code != 550 || enh != [3]int{5, 1, 1} {
		t.Fatalf("after revoke: %d %v %q, want 550 5.1.1", code, enh, msg)
	}
	if want := `no group named "all-staff"`; !strings.Contains(msg, want) {
		t.Fatalf("after revoke: %q lacks %q", msg, want)
	}
	if b := g.balance(g.sub.ID); b != start-35 {
		t.Fatalf("refused mail charged: balance %d", b)
	}
}
