package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// Response shapes of the opt-out routes, as the CLI reads them.
type (
	optOutListResp struct {
		AccountID string            `json:"account_id"`
		ListOwner string            `json:"list_owner"`
		Shared    bool              `json:"shared"`
		OptOuts   []accounts.OptOut `json:"optouts"`
	}
	optOutAddedResp struct {
		ListOwner string          `json:"list_owner"`
		Added     bool            `json:"added"`
		OptOut    accounts.OptOut `json:"optout"`
	}
	blockedResp struct {
		Messages []accounts.Message `json:"messages"`
		Next     string             `json:"next"`
	}
)

// cliOptOutCommands are the "optout ...", "stoprule ..." and "blocked ..."
// commands.
func cliOptOutCommands() map[string]command {
	return map[string]command{
		"optout list": {"--account ID", ofAccount("/optouts", false, func(w io.Writer, r optOutListResp) {
			if r.Shared {
				fmt.Fprintf(w, "shared list of parent account %s\n", r.ListOwner)
			}
			fmt.Fprintln(w, "NUMBER\tAT\tREASON\tVIA")
			for _, o := range r.OptOuts {
				fmt.Fprintf(w, "+%s\t%s\t%s\t%s\n", o.Number, ts(o.At), dash(o.Reason), dash(o.Via))
			}
		})},
		"optout add":    {"--account ID NUMBER [--reason R]", optOutAdd},
		"optout remove": {"--account ID NUMBER", remove("optouts", "NUMBER", "%s resubscribed\n")},
		"stoprule get":  {"--account ID", ofAccount("/stop-rule", false, printStopRule)},
		"stoprule set":  {"--account ID [--keywords K,K] [--start-keywords K,K] [--allow-start] [--confirmation T] [--start-confirmation T]", stopRuleSet},
		"blocked list": {"--account ID [--limit N] [--cursor C]", accountGet[blockedResp]{
			route: func([]string) string { return "/blocked" }, items: "messages (default 50)", cursor: "cursor", human: printBlocked}.setup},
		"blocked export": {"--account ID > blocked.csv", accountDownload("/blocked.csv")},
	}
}

func optOutAdd(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	reason := fs.String("reason", "", "why the number is added (default \"added by hand\")")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 1, "NUMBER")
		if err != nil {
			return err
		}
		body := map[string]string{"number": args[0]}
		if *reason != "" {
			body["reason"] = *reason
		}
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/optouts", body, func(w io.Writer, r optOutAddedResp) {
			if !r.Added {
				fmt.Fprintf(w, "+%s was already on the opt-out list of %s\n", r.OptOut.Number, r.ListOwner)
				return
			}
			fmt.Fprintf(w, "+%s added to the opt-out list of %s\n", r.OptOut.Number, r.ListOwner)
		})
	}
}

func printStopRule(w io.Writer, r accounts.StopRule) {
	quote := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return strconv.Quote(s)
	}
	fmt.Fprintf(w, "keywords\t%s\n", strings.Join(r.Keywords, ", "))
	fmt.Fprintf(w, "start_keywords\t%s\n", strings.Join(r.StartKeywords, ", "))
	fmt.Fprintf(w, "allow_start\t%v\n", r.AllowStart)
	fmt.Fprintf(w, "confirmation\t%s\n", quote(r.Confirmation))
	fmt.Fprintf(w, "start_confirmation\t%s\n", quote(r.StartConfirmation))
}

// stopRuleSet replaces the rule: flags left out take their defaults, as
// PUT does; --confirmation "" turns the confirmation off.
func stopRuleSet(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	keywords := fs.String("keywords", "", "comma-separated stop `keywords` (default STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT)")
	start := fs.String("start-keywords", "", "comma-separated resubscribe `keywords` (default START,UNSTOP,SUBSCRIBE,YES)")
	allow := fs.Bool("allow-start", false, "let start keywords resubscribe a number")
	confirm := fs.String("confirmation", "", "`text` sent after an opt-out; \"\" for none (default: the standard text)")
	startConfirm := fs.String("start-confirmation", "", "`text` sent after a resubscription; \"\" for none")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 0, "")
		if err != nil {
			return err
		}
		body := map[string]any{"allow_start": *allow}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "keywords":
				body["keywords"] = splitList(*keywords)
			case "start-keywords":
				body["start_keywords"] = splitList(*start)
			case "confirmation":
				body["confirmation"] = *confirm
			case "start-confirmation":
				body["start_confirmation"] = *startConfirm
			}
		})
		return call(ctx, c, "PUT", "/v1/accounts/"+esc(id)+"/stop-rule", body, printStopRule)
	}
}

func printBlocked(w io.Writer, r blockedResp) {
	fmt.Fprintln(w, "ID\tCREATED\tSENDER\tTO\tREASON")
	for _, m := range r.Messages {
		fmt.Fprintf(w, "%s\t%s\t%s\t+%s\t%s\n", m.ID, ts(m.CreatedAt), m.Sender, m.To, dash(m.Error))
	}
	printNext(w, r.Next)
}
