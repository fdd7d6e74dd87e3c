package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/api"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/router"
)

func TestCLIStatsAndLog(t *testing.T) {
	e := newCLIEnv(t)
	ctx := t.Context()
	e.createSub("Sales")
	for i, sender := range []string{"jo@example.com", "ann@example.com", "jo@example.com"} {
		if _, err := e.store.Accept(ctx, accounts.AcceptRequest{AccountID: e.root.ID, Messages: []*accounts.Message{{
			To: "6141200000" + string(rune('0'+i)), Text: "hello", Parts: 1, Price: 5, Sender: sender}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string // fragments of the output
		not  []string
	}{
		{"message list by sender", []string{"message", "list", "--sender", "ann@example.com"}, []string{"ann@example.com", "61412000001"}, []string{"jo@example.com"}},
		{"message list paged", []string{"message", "list", "--limit", "1"}, []string{"more: --cursor "}, nil},
		{"message list by number", []string{"message", "list", "--number", "+61412000002", "--status", "queued"}, []string{"61412000002"}, []string{"61412000000"}},
		{"message export", []string{"message", "export", "--sender", "jo@example.com"}, []string{"id,created_at,account_id,sender", "61412000000", "61412000002"}, []string{"61412000001"}},
		{"inbox list", []string{"inbox", "list", "--limit", "5"}, []string{"FROM"}, nil},
		{"inbox export", []string{"inbox", "export"}, []string{"id,received_at"}, nil},
		{"stats by sender", []string{"stats", "show", "--account", e.root.ID, "--by", "sender"}, []string{"SENDER", "jo@example.com", "ann@example.com", "total"}, nil},
		{"stats csv", []string{"stats", "show", "--account", e.root.ID, "--csv"}, []string{"day,sender,account_id", "total,,,,3,3,15"}, nil},
		{"stats per sub-account", []string{"stats", "show", "--account", e.root.ID, "--subaccounts"}, []string{"ACCOUNT", "Sales", "total"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := e.must(tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad status", []string{"message", "list", "--status", "lost"}, 1, "status:"},
		{"stats without account", []string{"stats", "show"}, 2, "--account is required"},
		{"send without a sender on the server", []string{"message", "send", "--to", "0412345678", "--text", "hi"}, 1, "HTTP 503"},
		{"send without --to", []string{"message", "send", "--text", "hi"}, 2, "--to is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := e.run(tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.want)
			}
		})
	}
}

func TestCLISend(t *testing.T) {
	st := redisstore.New(redistest.Start(t), redisstore.Options{})
	srv := httptest.NewServer(api.New(api.Options{Stores: apiStores(st), Sender: router.NewPipeline(router.PipelineOptions{Store: st}),
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}))
	t.Cleanup(srv.Close)
	root, secret, err := st.Bootstrap(t.Context(), accounts.Account{Name: "Root", DefaultCountry: "AU", PricePerPart: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Credit(t.Context(), root.ID, 100, "seed", "test"); err != nil {
		t.Fatal(err)
	}
	e := &cliEnv{t: t, url: srv.URL, key: secret, root: root, store: st}
	out := e.must("message", "send", "--to", "0412345678, +61412345679", "--text", "hello", "--idempotency-key", "k1")
	again := e.must("message", "send", "--to", "0412345678, +61412345679", "--text", "hello", "--idempotency-key", "k1")
	if !strings.Contains(out, "2 message(s) queued") || out != again {
		t.Fatalf("send printed %q, then %q", out, again)
	}
	a, err := st.GetAccount(context.Background(), root.ID)
	if err != nil || a.Balance != 90 {
		t.Fatalf("balance %v, %v; want 90 (charged once)", a, err)
	}
	code, _, errOut := e.run("message", "send", "--to", "12", "--text", "hi")
	if code != 1 || !strings.Contains(errOut, "to[0]") {
		t.Fatalf("bad number: exit %d, %q", code, errOut)
	}
}
