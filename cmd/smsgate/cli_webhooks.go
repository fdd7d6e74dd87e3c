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
		"webhook deliveries": {"--account ID WEBHOOK [--limit N]", webhookDeliveries},
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
		evs := []string{}
		for e := range strings.SplitSeq(*events, ",") {
			if e = strings.TrimSpace(e); e != "" {
				evs = append(evs, e)
			}
		}
		body := map[string]any{"url": *u, "events": evs}
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/webhooks", body, printNewWebhook)
	}
}

// webhookByID is a command with --account and one WEBHOOK argument:
// method /v1/accounts/{id}/webhooks/{wh}+suffix.
func webhookByID[T any](method, suffix string, human func(io.Writer, T)) func(*flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		acct := accountFlag(fs)
		return func(ctx context.Context, c *client, args []string) error {
			id, err := acct()
			if err == nil {
				err = need(args, 1, "WEBHOOK")
			}
			if err != nil {
				return err
			}
			return call(ctx, c, method, "/v1/accounts/"+esc(id)+"/webhooks/"+esc(args[0])+suffix, nil, human)
		}
	}
}

func webhookDeliveries(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	limit := fs.Int("limit", 0, "at most `N` attempts (default 50, the log keeps 100)")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := acct()
		if err == nil {
			err = need(args, 1, "WEBHOOK")
		}
		if err != nil {
			return err
		}
		path := "/v1/accounts/" + esc(id) + "/webhooks/" + esc(args[0]) + "/deliveries"
		if *limit > 0 {
			path += "?limit=" + strconv.Itoa(*limit)
		}
		return call(ctx, c, "GET", path, nil, func(w io.Writer, r deliveriesResp) {
			fmt.Fprintln(w, "AT\tEVENT\tTYPE\tATTEMPT\tRESULT\tCODE\tERROR\tMS\tNEXT")
			for _, a := range r.Deliveries {
				code := "-"
				if a.StatusCode != 0 {
					code = strconv.Itoa(a.StatusCode)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\n", ts(a.At), a.EventID, a.EventType, a.Attempt,
					a.Result, code, dash(a.Error), a.DurationMS, ts(a.NextAttempt))
			}
		})
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
	rows := [][2]string{
		{"id", h.ID}, {"account", h.AccountID}, {"url", h.URL}, {"events", webhookEvents(h.Events)},
		{"status", string(h.Status)}, {"disabled_reason", dash(h.DisabledReason)},
		{"consecutive_failures", strconv.Itoa(h.ConsecutiveFailures)}, {"created", ts(h.CreatedAt)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\n", r[0], r[1])
	}
}

// printNewWebhook prints a created webhook or a rotated secret.
func printNewWebhook(w io.Writer, r newWebhookResp) {
	printWebhook(w, r.Webhook)
	fmt.Fprintf(w, "secret (shown once, store it now; it signs every delivery):\n%s\n", r.Secret)
}
