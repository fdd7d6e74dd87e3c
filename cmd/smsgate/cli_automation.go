package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// automationsResp is the answer of GET /v1/accounts/{id}/automations.
type automationsResp struct {
	Automations []accounts.Automation `json:"automations"`
}

// cliAutomationCommands are the "automation ..." commands.
func cliAutomationCommands() map[string]command {
	return map[string]command{
		"automation list": {"--account ID", ofAccount("/automations", false, func(w io.Writer, r automationsResp) {
			fmt.Fprintln(w, "ID\tKIND\tKEYWORD\tENABLED\tNAME\tDOES")
			for _, a := range r.Automations {
				fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\t%s\n", a.ID, a.Kind, dash(a.Keyword), a.Enabled, a.Name, automationDoes(a))
			}
		})},
		"automation get": {"--account ID RULE", onItem("GET", "automations", "RULE", "", nil, printAutomation)},
		"automation create": {"--account ID --name N --kind auto_reply|forward|receipt_notice [--keyword W|*] [--text T] " +
			"[--forward-to a@x,+61...] [--notify all|failed] [--disabled]", automationCreate},
		"automation update": {"--account ID RULE [--name N] [--keyword W|*] [--text T] [--forward-to a@x,+61...] [--notify all|failed]", automationUpdate},
		"automation delete": {"--account ID RULE", onItem("DELETE", "automations", "RULE", "", nil, func(w io.Writer, _ noOutput) {
			fmt.Fprintln(w, "automation rule deleted")
		})},
		"automation enable":  {"--account ID RULE", onItem("PATCH", "automations", "RULE", "", map[string]any{"enabled": true}, printAutomation)},
		"automation disable": {"--account ID RULE", onItem("PATCH", "automations", "RULE", "", map[string]any{"enabled": false}, printAutomation)},
	}
}

// automationFlags declares the fields of a rule shared by create and update.
type automationFlags struct {
	name, keyword, text, forwardTo, notify *string
}

func newAutomationFlags(fs *flag.FlagSet) automationFlags {
	return automationFlags{
		name:      fs.String("name", "", "the rule's `name`"),
		keyword:   fs.String("keyword", "", "auto_reply, forward: the first `word` of the replies it acts on, or * for all"),
		text:      fs.String("text", "", "auto_reply: the `text` of the answer"),
		forwardTo: fs.String("forward-to", "", "forward: comma-separated email `addresses` and/or numbers"),
		notify:    fs.String("notify", "", "receipt_notice: `all` final statuses or only failed ones"),
	}
}

// body returns the fields given on the command line (visited flags only).
func (f automationFlags) body(fs *flag.FlagSet) map[string]any {
	body := map[string]any{}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "name":
			body["name"] = *f.name
		case "keyword":
			body["keyword"] = *f.keyword
		case "text":
			body["text"] = *f.text
		case "notify":
			body["notify"] = *f.notify
		case "forward-to":
			body["forward_to"] = splitList(*f.forwardTo)
		}
	})
	return body
}

func automationCreate(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	kind := fs.String("kind", "", "`kind` of rule: auto_reply, forward or receipt_notice")
	fields := newAutomationFlags(fs)
	disabled := fs.Bool("disabled", false, "create the rule switched off")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := acct()
		switch {
		case err != nil:
			return err
		case *kind == "":
			return usagef("--kind is required")
		case *fields.name == "":
			return usagef("--name is required")
		}
		if err := need(args, 0, ""); err != nil {
			return err
		}
		body := fields.body(fs)
		body["kind"] = *kind
		body["enabled"] = !*disabled
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/automations", body, printAutomation)
	}
}

func automationUpdate(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	fields := newAutomationFlags(fs)
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 1, "RULE")
		if err != nil {
			return err
		}
		body := fields.body(fs)
		if len(body) == 0 {
			return usagef("nothing to change: give --name, --keyword, --text, --forward-to or --notify")
		}
		return call(ctx, c, "PATCH", "/v1/accounts/"+esc(id)+"/automations/"+esc(args[0]), body, printAutomation)
	}
}

// automationDoes summarises what a rule does.
func automationDoes(a accounts.Automation) string {
	switch a.Kind {
	case accounts.AutoReply:
		return "reply " + fmt.Sprintf("%q", a.Text)
	case accounts.AutoForward:
		return "forward to " + strings.Join(a.ForwardTo, ",")
	case accounts.AutoReceiptNotice:
		return "mail the sender on " + map[string]string{accounts.NotifyAll: "every final status", accounts.NotifyFailed: "failures"}[a.Notify]
	}
	return "-"
}

// printAutomation prints one rule as aligned "field  value" lines.
func printAutomation(w io.Writer, a accounts.Automation) {
	printRows(w, [][2]string{
		{"id", a.ID}, {"account", a.AccountID}, {"name", a.Name}, {"kind", a.Kind},
		{"keyword", dash(a.Keyword)}, {"text", dash(a.Text)}, {"forward_to", dash(strings.Join(a.ForwardTo, ","))},
		{"notify", dash(a.Notify)}, {"enabled", fmt.Sprint(a.Enabled)}, {"created", ts(a.CreatedAt)}, {"updated", ts(a.UpdatedAt)},
	})
}
