package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/api"
)

// exportTimeout bounds a CSV download (the API client's own timeout is
// meant for single answers).
const exportTimeout = 10 * time.Minute

// cliStatsCommands are the statistics, export and send commands; "message
// list" and "inbox list" (in cli.go) use logList from here.
func cliStatsCommands() map[string]command {
	return map[string]command{
		"message export": {"[--account ID] [--status S] [--sender E] [--number N] [--from D] [--to D] > messages.csv",
			logExport("/v1/messages.csv", true)},
		"inbox export": {"[--account ID] [--state S] [--sender E] [--number N] [--from D] [--to D] > inbox.csv",
			logExport("/v1/inbox.csv", false)},
		"message send": {"[--account ID] --to N[,N...] (--text T [--subject S] | --template NAME [--text BODY]) [--idempotency-key K]", messageSend},
		"stats show":   {"--account ID [--from D] [--to D] [--by day|sender|day_sender] [--sender E] [--subaccounts] [--csv]", statsShow},
	}
}

// Answers of the list routes, with the next page's cursor.
type (
	messagePage struct {
		Messages []accounts.Message `json:"messages"`
		Next     string             `json:"next"`
	}
	inboxPage struct {
		Replies []accounts.Reply `json:"replies"`
		Next    string           `json:"next"`
	}
)

// logFilters declares the filter flags of the message log and inbox
// commands and returns a function that builds the query string.
func logFilters(fs *flag.FlagSet, withStatus, withPage bool) func() string {
	v := map[string]*string{
		"account": fs.String("account", "", "account `ID` (default: the key's account)"),
		"sender":  fs.String("sender", "", "only messages of (or replies to) this sender `address`"),
		"number":  fs.String("number", "", "`number`: +E.164 for exactly it, else digits it contains"),
		"from":    fs.String("from", "", "first `day`, YYYY-MM-DD (UTC)"),
		"to":      fs.String("to", "", "last `day`, YYYY-MM-DD (UTC), inclusive"),
	}
	if withStatus {
		v["status"] = fs.String("status", "", "only messages in this `status` (queued, submitted, delivered, undeliverable, expired, rejected, failed)")
	}
	if !withStatus { // the inbox
		v["state"] = fs.String("state", "", "only replies in this `state` (unread, read, archived, all; default: all but archived)")
	}
	page := func(url.Values) {}
	if withPage {
		page = pageFlags(fs, "items (default 50)", "")
		v["cursor"] = fs.String("cursor", "", "continue from the `cursor` a previous page printed")
	}
	return func() string {
		q := url.Values{}
		for k, p := range v {
			if *p != "" {
				q.Set(k, *p)
			}
		}
		page(q)
		return withQuery("", q)
	}
}

// cliMessageList is "message list".
func cliMessageList(fs *flag.FlagSet) runFunc {
	query := logFilters(fs, true, true)
	return func(ctx context.Context, c *client, args []string) error {
		if err := need(args, 0, ""); err != nil {
			return err
		}
		return call(ctx, c, "GET", "/v1/messages"+query(), nil, func(w io.Writer, r messagePage) {
			fmt.Fprintln(w, "ID\tCREATED\tSENDER\tTO\tSTATUS\tPARTS\tPRICE")
			for _, m := range r.Messages {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", m.ID, ts(m.CreatedAt), dash(m.Sender), m.To, m.Status, m.Parts, m.Price)
			}
			printNext(w, r.Next)
		})
	}
}

// cliInboxList is "inbox list".
func cliInboxList(fs *flag.FlagSet) runFunc {
	query := logFilters(fs, false, true)
	return func(ctx context.Context, c *client, args []string) error {
		if err := need(args, 0, ""); err != nil {
			return err
		}
		return call(ctx, c, "GET", "/v1/inbox"+query(), nil, func(w io.Writer, r inboxPage) {
			fmt.Fprintln(w, "ID\tRECEIVED\tFROM\tTO\tMESSAGE\tSENDER\tTEXT")
			for _, rp := range r.Replies {
				text := strings.Join(strings.Fields(rp.Text), " ")
				if r := []rune(text); len(r) > 40 {
					text = string(r[:39]) + "…"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", rp.ID, ts(rp.ReceivedAt), rp.From, rp.To,
					dash(rp.MessageID), dash(rp.Sender), text)
			}
			printNext(w, r.Next)
		})
	}
}

// printNext tells how to get the next page, if there is one.
func printNext(w io.Writer, next string) {
	if next != "" {
		fmt.Fprintf(w, "\nmore: --cursor %s\n", next)
	}
}

// logExport is "message export" and "inbox export": the CSV as it comes.
func logExport(path string, withStatus bool) func(*flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		query := logFilters(fs, withStatus, false)
		return func(ctx context.Context, c *client, args []string) error {
			if err := need(args, 0, ""); err != nil {
				return err
			}
			return download(ctx, c, path+query())
		}
	}
}

// rawRequest sends a request with extra headers and returns the response
// when its status is below 400; an error answer is returned as the
// *api.Problem it carries.
func rawRequest(ctx context.Context, c *client, method, path string, body any, hdr http.Header, timeout time.Duration) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.api.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("request %s %s: %w", method, path, err)
	}
	req.Header = hdr.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Authorization", "Bearer "+c.api.Key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := http.Client{Timeout: timeout}
	if c.api.HTTP != nil {
		hc.Transport = c.api.HTTP.Transport
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		p := &api.Problem{}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, p) != nil || p.Detail == "" {
			p = &api.Problem{Title: http.StatusText(resp.StatusCode), Detail: http.StatusText(resp.StatusCode)}
		}
		p.Status = resp.StatusCode
		return nil, p
	}
	return resp, nil
}

// download copies a CSV answer to the output, however long.
func download(ctx context.Context, c *client, path string) error {
	resp, err := rawRequest(ctx, c, "GET", path, nil, http.Header{"Accept": {"text/csv"}}, exportTimeout)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(c.out, resp.Body); err != nil {
		return fmt.Errorf("download %s: %w", path, err)
	}
	return nil
}

// messageSend is "message send".
func messageSend(fs *flag.FlagSet) runFunc {
	acct := fs.String("account", "", "account `ID` (default: the key's account)")
	to := fs.String("to", "", "recipient `numbers`, comma-separated")
	text := fs.String("text", "", "the message `text`")
	subject := fs.String("subject", "", "a `subject`, used as the account's subject_mode says")
	idem := fs.String("idempotency-key", "", "a `key` naming this send: repeating it sends and charges once")
	tpl := fs.String("template", "", "send the template `NAME` (the account's or its parent's); --text fills {{body}}")
	return func(ctx context.Context, c *client, args []string) error {
		switch {
		case *to == "":
			return usagef("--to is required")
		case *text == "" && *subject == "" && *tpl == "":
			return usagef("--text or --template is required")
		}
		if err := need(args, 0, ""); err != nil {
			return err
		}
		body := map[string]any{"to": splitList(*to), "text": *text}
		if *acct != "" {
			body["account"] = *acct
		}
		if *subject != "" {
			body["subject"] = *subject
		}
		if *tpl != "" {
			body["template"] = *tpl
		}
		hdr := http.Header{"Accept": {"application/json"}}
		if *idem != "" {
			hdr.Set("Idempotency-Key", *idem)
		}
		resp, err := rawRequest(ctx, c, "POST", "/v1/messages", body, hdr, 30*time.Second)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return fmt.Errorf("read answer: %w", err)
		}
		if c.json {
			_, err := c.out.Write(data)
			return err
		}
		var r struct {
			AccountID string   `json:"account_id"`
			IDs       []string `json:"ids"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		fmt.Fprintf(c.out, "%d message(s) queued for account %s\n", len(r.IDs), r.AccountID)
		for _, id := range r.IDs {
			fmt.Fprintln(c.out, id)
		}
		return nil
	}
}

// statsShow is "stats show".
func statsShow(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	from := fs.String("from", "", "first `day`, YYYY-MM-DD (UTC); default 29 days before --to")
	to := fs.String("to", "", "last `day`, YYYY-MM-DD (UTC), inclusive; default today")
	by := fs.String("by", "", "rows per `day`, sender or day_sender (default day)")
	sender := fs.String("sender", "", "only this sender `address`")
	subs := fs.Bool("subaccounts", false, "one row per sub-account (a parent account's parent_admin)")
	asCSV := fs.Bool("csv", false, "print CSV (needs the export right)")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 0, "")
		if err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range map[string]string{"from": *from, "to": *to, "by": *by, "sender": *sender} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if *subs {
			q.Set("subaccounts", "true")
		}
		path := "/v1/accounts/" + esc(id) + "/stats"
		if *asCSV {
			path += ".csv"
		}
		path = withQuery(path, q)
		if *asCSV {
			return download(ctx, c, path)
		}
		return call(ctx, c, "GET", path, nil, printStats)
	}
}

// statsAnswer is the statistics answer as the CLI reads it.
type statsAnswer struct {
	AccountID string              `json:"account_id"`
	From      string              `json:"from"`
	To        string              `json:"to"`
	By        string              `json:"by"`
	Rows      []accounts.StatsRow `json:"rows"`
	Total     accounts.StatsRow   `json:"total"`
}

// printStats prints a report as a table with a total line.
func printStats(w io.Writer, r statsAnswer) {
	fmt.Fprintf(w, "account %s, %s to %s\n", r.AccountID, r.From, r.To)
	head := map[string]string{"sender": "SENDER", "day_sender": "DAY\tSENDER", "account": "ACCOUNT\tNAME"}[r.By]
	if head == "" {
		head = "DAY"
	}
	fmt.Fprintf(w, "%s\tMESSAGES\tPARTS\tCOST\tDELIVERED\tFAILED\tUNDELIVERABLE\tEXPIRED\tREJECTED\n", head)
	line := func(label string, s accounts.StatsRow) {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", label, s.Messages, s.Parts, s.Cost,
			s.Delivered, s.Failed, s.Undeliverable, s.Expired, s.Rejected)
	}
	for _, s := range r.Rows {
		label := s.Day
		switch r.By {
		case "sender":
			label = s.Sender
		case "day_sender":
			label = s.Day + "\t" + s.Sender
		case "account":
			label = s.AccountID + "\t" + s.Name
		}
		line(label, s)
	}
	pad := strings.Repeat("\t", strings.Count(head, "\t"))
	line("total"+pad, r.Total)
}
