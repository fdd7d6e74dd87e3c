package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// replyRulesResp is the API's view of an account's reply routing rules.
type replyRulesResp struct {
	AccountID  string   `json:"account_id"`
	MailSender bool     `json:"mail_sender"`
	ForwardTo  []string `json:"forward_to"`
	Webhook    bool     `json:"webhook"`
	Stored     bool     `json:"stored"`
}

// cliInboxCommands are the commands of the inbox's state and the reply
// routing rules.
func cliInboxCommands() map[string]command {
	return map[string]command{
		"inbox read":      {"ID", inboxMark("read", true, "marked read")},
		"inbox unread":    {"ID", inboxMark("read", false, "marked unread")},
		"inbox archive":   {"ID", inboxMark("archived", true, "archived")},
		"inbox unarchive": {"ID", inboxMark("archived", false, "back in the inbox")},
		"replyrules get":  {"--account ID", ofAccount("/reply-rules", false, printReplyRules)},
		"replyrules set":  {"--account ID [--mail-sender on|off] [--forward-to a@x,b@y] [--webhook on|off]", replyRulesSet},
	}
}

// inboxMark is "inbox read|unread|archive|unarchive ID": PATCH the reply's
// field to on.
func inboxMark(field string, on bool, done string) func(*flag.FlagSet) runFunc {
	return func(*flag.FlagSet) runFunc {
		return func(ctx context.Context, c *client, args []string) error {
			if err := need(args, 1, "ID"); err != nil {
				return err
			}
			return call(ctx, c, "PATCH", "/v1/inbox/"+esc(args[0]), map[string]bool{field: on}, func(w io.Writer, r accounts.Reply) {
				fmt.Fprintf(w, "reply %s %s\n", r.ID, done)
			})
		}
	}
}

// printReplyRules prints the rules as aligned "rule  value" lines.
func printReplyRules(w io.Writer, r replyRulesResp) {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	fwd := strings.Join(r.ForwardTo, ", ")
	fmt.Fprintf(w, "account\t%s\n", r.AccountID)
	fmt.Fprintf(w, "mail_sender\t%s\n", onOff(r.MailSender))
	fmt.Fprintf(w, "forward_to\t%s\n", dash(fwd))
	fmt.Fprintf(w, "webhook\t%s\n", onOff(r.Webhook))
	if !r.Stored {
		fmt.Fprintln(w, "(the defaults: the account has set no rules)")
	}
}

// onOffFlag parses an on|off flag value.
func onOffFlag(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "yes":
		return true, nil
	case "off", "false", "no":
		return false, nil
	}
	return false, usagef("--%s: %q must be on or off", name, v)
}

// replyRulesSet is "replyrules set": only the rules given change;
// --forward-to replaces the list ("" clears it).
func replyRulesSet(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	sender := fs.String("mail-sender", "", "`on|off`: mail each reply to the sender of the original")
	forward := fs.String("forward-to", "", "comma-separated `addresses` each reply is also mailed to (replaces the list; \"\" clears it)")
	hook := fs.String("webhook", "", "`on|off`: fire the reply.received webhook event")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 0, "")
		if err != nil {
			return err
		}
		body := map[string]any{}
		var bad error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "mail-sender", "webhook":
				v := map[string]*string{"mail-sender": sender, "webhook": hook}[f.Name]
				b, err := onOffFlag(f.Name, *v)
				if err != nil && bad == nil {
					bad = err
				}
				body[strings.ReplaceAll(f.Name, "-", "_")] = b
			case "forward-to":
				body["forward_to"] = splitList(*forward)
			}
		})
		switch {
		case bad != nil:
			return bad
		case len(body) == 0:
			return usagef("give --mail-sender, --forward-to or --webhook")
		}
		return call(ctx, c, "PUT", "/v1/accounts/"+esc(id)+"/reply-rules", body, printReplyRules)
	}
}
