package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/webhook"
)

// adminUnrouted is "admin unrouted list|show|assign": the operator reads the
// replies that matched no conversation and no dedicated number, and moves
// one into the account whose it is (its reply.received webhook fires then).
func adminUnrouted(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: smsgate admin unrouted list --config FILE [--limit N]\n" +
		"       smsgate admin unrouted show --config FILE REPLYID\n" +
		"       smsgate admin unrouted assign --config FILE --account ID REPLYID"
	if len(args) == 0 || (args[0] != "list" && args[0] != "show" && args[0] != "assign") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("admin unrouted "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (for redis)")
	acct := fs.String("account", "", "assign: the account `ID` the reply belongs to")
	limit := fs.Int("limit", 50, "list: replies to show, newest first")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	want := 1
	if args[0] == "list" {
		want = 0
	}
	if *cfgPath == "" || len(pos) != want || (args[0] == "assign" && *acct == "") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	id := ""
	if len(pos) == 1 {
		id = pos[0]
	}
	return withStore(*cfgPath, stderr, func(store *redisstore.Store) int {
		return adminUnroutedRun(ctx, store, args[0], *acct, id, *limit, stdout, stderr)
	})
}

// adminUnroutedRun does the work of adminUnrouted on a store.
func adminUnroutedRun(ctx context.Context, store *redisstore.Store, verb, acct, id string, limit int, stdout, stderr io.Writer) int {
	switch verb {
	case "list":
		return unroutedList(ctx, store, limit, stdout, stderr)
	case "show":
		r, err := store.GetReply(ctx, id)
		if err != nil || r.AccountID != "" {
			fmt.Fprintf(stderr, "smsgate: reply %s is not in the unrouted inbox\n", id)
			return 1
		}
		printReply(stdout, r)
		return 0
	}
	r, err := store.AssignReply(ctx, id, acct)
	if err != nil {
		fmt.Fprintln(stderr, "smsgate:", err)
		return 1
	}
	hooks := webhook.New(webhook.Options{Redis: store.RDB, Shards: store.Keys.Shards, Prefix: store.Keys.Prefix})
	if err := hooks.Reply(ctx, r, nil); err != nil {
		fmt.Fprintln(stderr, "smsgate: reply assigned, but its webhook event failed:", err)
		return 1
	}
	fmt.Fprintf(stdout, "reply %s assigned to account %s (reply.received event queued)\n", r.ID, r.AccountID)
	return 0
}

func unroutedList(ctx context.Context, store *redisstore.Store, limit int, stdout, stderr io.Writer) int {
	rs, err := store.ListInbox(ctx, "", limit)
	if err != nil {
		fmt.Fprintln(stderr, "smsgate:", err)
		return 1
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tRECEIVED\tFROM\tTO\tLINK\tTEXT")
	for _, r := range rs {
		text := strings.ReplaceAll(r.Text, "\n", " ")
		if len([]rune(text)) > 40 {
			text = string([]rune(text)[:40]) + "…"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, ts(r.ReceivedAt), r.From, r.To, dash(r.Link), text)
	}
	_ = w.Flush()
	return 0
}

// printReply prints one reply as "field  value" lines.
func printReply(w io.Writer, r *accounts.Reply) {
	printRows(w, [][2]string{
		{"id", r.ID}, {"received", ts(r.ReceivedAt)}, {"from", r.From}, {"to", r.To},
		{"link", dash(r.Link)}, {"incomplete", fmt.Sprint(r.Incomplete)}, {"text", r.Text},
	})
}
