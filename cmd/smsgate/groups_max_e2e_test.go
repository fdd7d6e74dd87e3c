package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestGroupMaxSizeEndToEnd: a mail to a group of the largest size a mail may
// reach (smtp's maxMailRecipients, 10000) is accepted and charged once per
// member, through a real SMTP client. Before accept.lua asked for opt-outs in
// chunks, unpack() of more than 8000 numbers failed and the mail got 451 for
// ever.
func TestGroupMaxSizeEndToEnd(t *testing.T) {
	const members = 10000
	g := startGateway(t)
	api := func(method, path, body string, want int) string {
		t.Helper()
		code, out := g.do(method, path, body)
		if code != want {
			t.Fatalf("%s %s: %d %.300s", method, path, code, out)
		}
		return out
	}
	groups := "/v1/accounts/" + g.parent.ID + "/groups"
	var grp struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(api("POST", groups, `{"name": "Everyone"}`, 201)), &grp); err != nil {
		t.Fatal(err)
	}
	nums := make([]string, members)
	for i := range nums {
		nums[i] = fmt.Sprintf("%q", fmt.Sprintf("+6141250%04d", i))
	}
	for i := 0; i < members; i += 1000 { // the API's body limit: in batches
		api("POST", groups+"/"+grp.ID+"/members", `{"numbers": [`+strings.Join(nums[i:i+1000], ",")+`]}`, 200)
	}
	api("PUT", groups+"/"+grp.ID+"/sharing", fmt.Sprintf(`{"sub_accounts": [%q]}`, g.sub.ID), 200)
	if _, err := g.store.Credit(context.Background(), g.sub.ID, members*5, "test", "operator"); err != nil {
		t.Fatal(err)
	}

	start := g.balance(g.sub.ID)
	rcpt := "everyone@" + smsDomain
	if err := g.sendMail("alice@example.com", []string{rcpt},
		plainMail("alice@example.com", rcpt, "max-group@example.com", "All hands at 9")); err != nil {
		t.Fatalf("mail to a group of %d: %v", members, err)
	}
	if b := g.balance(g.sub.ID); b != start-members*5 {
		t.Fatalf("sub balance %d, want %d (%d messages at 5)", b, start-members*5, members)
	}
}
