package main

import (
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// cliTestReply stores a conversation of acct and a reply to it; it returns
// the reply's id.
func cliTestReply(t *testing.T, e *cliEnv, acct *accounts.Account) string {
	t.Helper()
	ctx := t.Context()
	res, err := e.store.Accept(ctx, accounts.AcceptRequest{AccountID: acct.ID, Messages: []*accounts.Message{{
		To: "61412000001", Text: "hi", Parts: 1, Sender: "jo@example.com", Source: "61400000001"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.EnsureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := e.store.Read(ctx, "test", 10, 100*time.Millisecond)
	if err != nil || len(es) != 1 {
		t.Fatalf("read: %d %v", len(es), err)
	}
	if err := e.store.MarkSubmitted(ctx, []accounts.Submitted{{Entry: es[0], Link: "sim", Source: "61400000001", SMSCIDs: []string{"s1"}}}); err != nil {
		t.Fatal(err)
	}
	r, _, err := e.store.RouteReply(ctx, accounts.Reply{From: "61412000001", To: "61400000001", Text: "yes", Link: "sim"})
	if err != nil || r.MessageID != res.IDs[0] {
		t.Fatalf("route reply: %+v %v", r, err)
	}
	return r.ID
}

func TestCLIInbox(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	id := cliTestReply(t, e, &sub)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
		read   bool // the reply's state afterwards
		arch   bool
	}{
		{"read", []string{"inbox", "read", id}, 0, "reply " + id + " marked read", "", true, false},
		{"listed as read", []string{"inbox", "list", "--account", sub.ID, "--state", "read"}, 0, id, "", true, false},
		{"archive", []string{"inbox", "archive", id}, 0, "archived", "", true, true},
		{"gone from the default list", []string{"inbox", "list", "--account", sub.ID}, 0, "ID", "", true, true},
		{"unread", []string{"inbox", "unread", id}, 0, "marked unread", "", false, true},
		{"unarchive", []string{"inbox", "unarchive", id}, 0, "back in the inbox", "", false, false},
		{"bad state", []string{"inbox", "list", "--state", "new"}, 1, "", `state: "new" must be one of`, false, false},
		{"unknown reply", []string{"inbox", "read", "r0-nosuchreply"}, 1, "", "reply r0-nosuchreply not found", false, false},
		{"no id", []string{"inbox", "read"}, 2, "", "ID is required", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.run(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if tc.name == "gone from the default list" && strings.Contains(out, id) {
				t.Errorf("archived reply listed:\n%s", out)
			}
			r, err := e.store.GetReply(t.Context(), id)
			if err != nil || r.ReadAt.IsZero() == tc.read || r.ArchivedAt.IsZero() == tc.arch {
				t.Errorf("stored %+v %v, want read %v archived %v", r, err, tc.read, tc.arch)
			}
		})
	}
}

func TestCLIReplyRules(t *testing.T) {
	e := newCLIEnv(t)
	sub := e.createSub("Sales")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"defaults", []string{"replyrules", "get", "--account", sub.ID}, 0, []string{"mail_sender  on", "forward_to   -", "the defaults"}, ""},
		{"forward", []string{"replyrules", "set", "--account", sub.ID, "--forward-to", "ops@example.com, desk@example.com"}, 0,
			[]string{"forward_to   ops@example.com, desk@example.com", "webhook      on"}, ""},
		{"sender off", []string{"replyrules", "set", "--account", sub.ID, "--mail-sender", "off"}, 0,
			[]string{"mail_sender  off", "forward_to   ops@example.com, desk@example.com"}, ""},
		{"clear forwards, webhook off", []string{"replyrules", "set", "--account", sub.ID, "--forward-to", "", "--webhook", "off"}, 0,
			[]string{"forward_to   -", "webhook      off"}, ""},
		{"bad address", []string{"replyrules", "set", "--account", sub.ID, "--forward-to", "ops"}, 1, nil, `forward_to[0]: "ops" is not an email address`},
		{"bad switch", []string{"replyrules", "set", "--account", sub.ID, "--webhook", "maybe"}, 2, nil, "--webhook: \"maybe\" must be on or off"},
		{"nothing", []string{"replyrules", "set", "--account", sub.ID}, 2, nil, "give --mail-sender"},
		{"no account", []string{"replyrules", "get"}, 2, nil, "--account is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.run(tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
		})
	}
	r, stored, err := e.store.ReplyRules(t.Context(), sub.ID)
	if err != nil || !stored {
		t.Fatalf("stored %+v %v %v", r, stored, err)
	}
	if r.MailSender || r.Webhook || len(r.ForwardTo) != 0 {
		t.Errorf("stored %+v, want everything off", r)
	}
}
