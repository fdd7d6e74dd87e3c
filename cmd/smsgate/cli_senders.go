package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
)

// cliSenderCommands are the commands of sender identities (flag
// sender_view): list them, assign and take back dedicated numbers,
// approve and withdraw alphanumeric sender ids, set the default.
func cliSenderCommands() map[string]command {
	return map[string]command{
		"sender list":     {"--account ID", ofAccount("/senders", false, printSenders)},
		"sender default":  {"--account ID (NUMBER|SENDERID|--clear)", senderDefault},
		"number assign":   {"--account ID NUMBER", senderAdd("numbers", "number", "NUMBER", "number %s assigned to account %s\n")},
		"number release":  {"--account ID NUMBER", remove("senders/numbers", "NUMBER", "number %s given back to the parent account\n")},
		"senderid add":    {"--account ID SENDERID", senderAdd("ids", "sender_id", "SENDERID", "sender id %s assigned to account %s\n")},
		"senderid remove": {"--account ID SENDERID", remove("senders/ids", "SENDERID", "sender id %s withdrawn\n")},
	}
}

// printSenders prints an account's identities, one a line.
func printSenders(w io.Writer, s accounts.Senders) {
	fmt.Fprintln(w, "KIND\tSENDER\tDEFAULT")
	mark := func(v string) string {
		if strings.EqualFold(v, s.Default) {
			return "yes"
		}
		return "-"
	}
	for _, n := range s.Numbers {
		fmt.Fprintf(w, "number\t+%s\t%s\n", n, mark(n))
	}
	for _, id := range s.SenderIDs {
		fmt.Fprintf(w, "sender_id\t%s\t%s\n", id, mark(id))
	}
	if s.Default == "" {
		fmt.Fprintln(w, "(no default: the gateway's source address)")
	}
}

// senderAdd is "number assign" and "senderid add": POST
// /v1/accounts/{id}/senders/<plural> {field: ARG}.
func senderAdd(plural, field, argName, done string) func(*flag.FlagSet) runFunc {
	return withAccount(1, argName, func(ctx context.Context, c *client, id string, args []string) error {
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/senders/"+plural, map[string]string{field: args[0]},
			func(w io.Writer, _ accounts.Senders) { fmt.Fprintf(w, done, args[0], id) })
	})
}

// senderDefault is "sender default --account ID VALUE" or "--clear".
func senderDefault(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	clear := fs.Bool("clear", false, "clear the default: send from the gateway's source address")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := acct()
		if err != nil {
			return err
		}
		value := ""
		switch {
		case *clear:
			err = need(args, 0, "")
		default:
			if err = need(args, 1, "NUMBER or SENDERID (or --clear)"); err == nil {
				value = args[0]
			}
		}
		if err != nil {
			return err
		}
		return call(ctx, c, "PUT", "/v1/accounts/"+esc(id)+"/senders/default", map[string]string{"default": value}, printSenders)
	}
}

// adminNumber is "smsgate admin number add|remove --config FILE ...": the
// operator allocates dedicated numbers to parent accounts straight in
// Redis (like bootstrap), and takes them back. The parent's
// administrators then assign them over the API (smsgate number assign).
func adminNumber(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: smsgate admin number add --config FILE --account ROOTID NUMBER\n" +
		"       smsgate admin number remove --config FILE NUMBER"
	if len(args) == 0 || (args[0] != "add" && args[0] != "remove") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("admin number "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (for redis)")
	acct := fs.String("account", "", "add: the parent account `ID` that gets the number")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	switch {
	case *cfgPath == "", len(pos) != 1, args[0] == "add" && *acct == "":
		fmt.Fprintln(stderr, usage)
		return 2
	}
	return withStore(*cfgPath, stderr, func(store *redisstore.Store) int {
		return adminNumberRun(ctx, store, args[0], *acct, pos[0], stdout, stderr)
	})
}

// adminNumberRun does the work of adminNumber on a store.
func adminNumberRun(ctx context.Context, store *redisstore.Store, verb, acct, number string, stdout, stderr io.Writer) int {
	if verb == "add" {
		n, err := store.AllocateNumber(ctx, acct, number)
		switch {
		case errors.Is(err, accounts.ErrNotFound):
			fmt.Fprintf(stderr, "smsgate: account %s not found\n", acct)
			return 1
		case err != nil:
			fmt.Fprintln(stderr, "smsgate:", err)
			return 1
		}
		fmt.Fprintf(stdout, "number %s allocated to account %s\n", n, acct)
		return 0
	}
	owner, err := store.FreeNumber(ctx, number)
	if errors.Is(err, accounts.ErrNotFound) {
		fmt.Fprintf(stderr, "smsgate: number %s is not allocated to any account\n", number)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "smsgate:", err)
		return 1
	}
	fmt.Fprintf(stdout, "number %s taken back from account %s\n", strings.TrimPrefix(number, "+"), owner)
	return 0
}
