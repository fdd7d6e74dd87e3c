package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/webhook"
)

// Response shapes of the webhook routes, as the CLI reads them.
type (
	webhooksResp struct {
		Webhooks []webhook.Webhook `json:"webhooks"`
	}
	newWebhookResp struct {
		Secret  string          `json:"secret"`
		Webhook webhook.Webhook `json:"webhook"`
	}
	deliveriesResp struct {
		Deliveries []webhook.Attempt `json:"deliveries"`
	}
	webhookTestResp struct {
		EventID string `json:"event_id"`
	}
)

// cliWebhookCommands are the "webhook ..." commands.
func cliWebhookCommands() map[string]command {
	return map[string]command{
		"webhook create": {"--account ID --url URL [--events message.status,reply.received,balance.low]", webhookCreate},
		"webhook list": {"--account ID", ofAccount("/webhooks", false, func(w io.Writer, r webhooksResp) {
			fmt.Fprintln(w, "ID\tSTATUS\tURL\tEVENTS\tFAILURES\tCREATED")
			for _, h := range r.Webhooks {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", h.ID, h.Status, h.URL, webhookEvents(h.Events),
					h.ConsecutiveFailures, ts(h.CreatedAt))
			}
		})},
		"webhook get":    {"--account ID WEBHOOK", webhookByID("GET", "", printWebhook)},
		"webhook enable": {"--account ID WEBHOOK", webhookByID("POST", "/enable", printWebhook)},
		"webhook delete": {"--account ID WEBHOOK", webhookByID("DELETE", "", func(w io.Writer, _ noOutput) {
			fmt.Fprintln(w, "webhook deleted")
		})},
		"webhook rotate-secret": {"--account ID WEBHOOK", webhookByID("POST", "/rotate-secret", printNewWebhook)},
		"webhook test": {"--account ID WEBHOOK", webhookByID("POST", "/test", func(w io.Writer, r webhookTestResp) {
			fmt.Fprintf(w, "test event %s queued; see \"smsgate webhook deliveries\"\n", r.EventID)
		})},
		"webhook deliveries": {"--account ID WEBHOOK [--limit N]", accountGet[deliveriesResp]{
			route: func(args []string) string { return "/webhooks/" + esc(args[0]) + "/deliveries" }, n: 1, what: "WEBHOOK",
			items: "attempts (default 50, the log keeps 100)", human: printDeliveries}.setup},
	}
}

func webhookCreate(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	u := fs.String("url", "", "the receiver's `URL` (https:// or http://)")
	events := fs.String("events", "", "comma-separated event `types` (default: all)")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := acct()
		switch {
		case err != nil:
			return err
		case *u == "":
			return usagef("--url is required")
		}
		if err := need(args, 0, ""); err != nil {
			return err
		}
		body := map[string]any{"url": *u, "events": splitList(*events)}
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/webhooks", body, printNewWebhook)
	}
}

// webhookByID is a command with --account and one WEBHOOK argument:
// method /v1/accounts/{id}/webhooks/{wh}+suffix.
func webhookByID[T any](method, suffix string, human func(io.Writer, T)) func(*flag.FlagSet) runFunc {
	return onItem(method, "webhooks", "WEBHOOK", suffix, nil, human)
}

func printDeliveries(w io.Writer, r deliveriesResp) {
	fmt.Fprintln(w, "AT\tEVENT\tTYPE\tATTEMPT\tRESULT\tCODE\tERROR\tMS\tNEXT")
	for _, a := range r.Deliveries {
		code := "-"
		if a.StatusCode != 0 {
			code = strconv.Itoa(a.StatusCode)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\n", ts(a.At), a.EventID, a.EventType, a.Attempt,
			a.Result, code, dash(a.Error), a.DurationMS, ts(a.NextAttempt))
	}
}

func webhookEvents(evs []string) string {
	if len(evs) == 0 {
		return "all"
	}
	return strings.Join(evs, ",")
}

// printWebhook prints one webhook as aligned "field  value" lines.
func printWebhook(w io.Writer, h webhook.Webhook) {
	printRows(w, [][2]string{
		{"id", h.ID}, {"account", h.AccountID}, {"url", h.URL}, {"events", webhookEvents(h.Events)},
		{"status", string(h.Status)}, {"disabled_reason", dash(h.DisabledReason)},
		{"consecutive_failures", strconv.Itoa(h.ConsecutiveFailures)}, {"created", ts(h.CreatedAt)},
	})
}

// printNewWebhook prints a created webhook or a rotated secret.
func printNewWebhook(w io.Writer, r newWebhookResp) {
	printWebhook(w, r.Webhook)
	fmt.Fprintf(w, "secret (shown once, store it now; it signs every delivery):\n%s\n", r.Secret)
}
