package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/api"
)

// defaultAPIURL is used when SMSGATE_URL is not set.
const defaultAPIURL = "http://127.0.0.1:8080"

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// client talks to the smsgate REST API and prints its answers.
type client struct {
	api  *api.Client
	json bool // print raw JSON instead of tables
	out  io.Writer
	env  func(string) string // the environment (SMSGATE_PASSWORD)
}

// call runs a request and either prints the raw JSON (--json) or decodes it
// into v and calls human to print it.
func call[T any](ctx context.Context, c *client, method, path string, body any, human func(w io.Writer, v T)) error {
	data, err := c.api.Do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if c.json {
		if len(data) == 0 {
			return nil
		}
		var buf bytes.Buffer
		if json.Indent(&buf, bytes.TrimSpace(data), "", "  ") != nil {
			_, err := c.out.Write(data) // not JSON: as it came
			return err
		}
		_, err := fmt.Fprintln(c.out, buf.String())
		return err
	}
	var v T
	if len(data) > 0 {
		// Tables print what tenants stored: escape what a terminal would
		// obey (ESC sequences, CR/LF, bidi overrides) before decoding.
		if safe, err := termSafeJSON(data); err == nil {
			data = safe
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("decode response of %s %s: %w", method, path, err)
		}
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	human(tw, v)
	return tw.Flush()
}

// command is one "resource verb" of the CLI.
type command struct {
	usage string // arguments after "smsgate resource verb"
	// setup declares the command's flags and returns the function that runs
	// it with the positional arguments.
	setup func(fs *flag.FlagSet) runFunc
}

// runFunc runs a command with its positional arguments.
type runFunc = func(ctx context.Context, c *client, args []string) error

// runCLI runs an admin command over the REST API. args[0] is the resource
// ("account"), args[1] the verb. It returns 0 on success, 1 when the API or
// the network failed, 2 for a usage error.
func runCLI(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	cmds := cliCommands()
	words := 2 // "resource verb", or a one-word command such as "login"
	if len(args) > 0 && cmds[args[0]].setup != nil {
		words = 1
	}
	if len(args) < words {
		res := ""
		if len(args) == 1 {
			res = args[0]
		}
		fmt.Fprintf(stderr, "smsgate %s: a command is required\n%s", res, cliUsage(cmds, res))
		return 2
	}
	name := strings.Join(args[:words], " ")
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "smsgate: unknown command %q\n%s", name, cliUsage(cmds, args[0]))
		return 2
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: smsgate %s %s\n", name, cmd.usage)
		fs.PrintDefaults()
	}
	jsonOut := fs.Bool("json", false, "print the API's raw JSON")
	run := cmd.setup(fs)
	pos, err := parseInterleaved(fs, args[words:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2 // the flag package has printed the error and usage
	}
	base := strings.TrimRight(env("SMSGATE_URL"), "/")
	key := env("SMSGATE_API_KEY")
	if base == "" || key == "" { // the config file fills in what the environment does not
		confURL, confKey, warn, err := cliConfigFile(env)
		if err != nil {
			fmt.Fprintf(stderr, "smsgate %s: %v\n", name, err)
			return 2
		}
		if warn != "" && key == "" && confKey != "" {
			fmt.Fprintln(stderr, warn)
		}
		base = cmp.Or(base, strings.TrimRight(confURL, "/"), defaultAPIURL)
		key = cmp.Or(key, confKey)
	}
	if key == "" && !cliNoKey()[name] {
		fmt.Fprintf(stderr, "smsgate %s: SMSGATE_API_KEY is not set, nor key in the config file (SMSGATE_CONFIG, default ~/.config/smsgate/cli.conf)\n", name)
		return 2
	}
	c := &client{
		api:  &api.Client{BaseURL: base, Key: key, HTTP: &http.Client{Timeout: 30 * time.Second}},
		json: *jsonOut,
		out:  stdout,
		env:  env,
	}
	err = run(ctx, c, pos)
	var ue *usageError
	var p *api.Problem
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s\nusage: smsgate %s %s\n", name, ue.msg, name, cmd.usage)
		return 2
	case errors.As(err, &p):
		fmt.Fprintf(stderr, "smsgate: %s (HTTP %d)\n", termSafe(p.Detail), p.Status)
		return 1
	}
	fmt.Fprintf(stderr, "smsgate: %s\n", termSafe(err.Error()))
	return 1
}

// parseInterleaved parses flags that may come before or after the
// positional arguments ("domain add example.com --account a0-x").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// cliUsage lists the commands of one resource, or all of them.
func cliUsage(cmds map[string]command, resource string) string {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		if resource == "" || strings.HasPrefix(n, resource+" ") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return cliUsage(cmds, "")
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("commands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  smsgate %s %s\n", n, cmds[n].usage)
	}
	return b.String()
}

// Helpers for the commands.

func esc(s string) string { return url.PathEscape(s) }

// need checks the positional argument count.
func need(args []string, n int, what string) error {
	if len(args) < n {
		return usagef("%s is required", what)
	}
	if len(args) > n {
		return usagef("unexpected argument %q", args[n])
	}
	return nil
}

// accountFlag declares --account and returns a check that it was given.
func accountFlag(fs *flag.FlagSet) func() (string, error) {
	id := fs.String("account", "", "account `ID`")
	return func() (string, error) {
		if *id == "" {
			return "", usagef("--account is required")
		}
		return *id, nil
	}
}

// accountArgs checks --account, then the positional argument count.
func accountArgs(acct func() (string, error), args []string, n int, what string) (string, error) {
	id, err := acct()
	if err == nil {
		err = need(args, n, what)
	}
	return id, err
}

// withAccount is a command with --account and n positional arguments
// (named what) that leaves the rest to run with the account's ID.
func withAccount(n int, what string, run func(ctx context.Context, c *client, id string, args []string) error) func(*flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		acct := accountFlag(fs)
		return func(ctx context.Context, c *client, args []string) error {
			id, err := accountArgs(acct, args, n, what)
			if err != nil {
				return err
			}
			return run(ctx, c, id, args)
		}
	}
}

// withQuery appends q to path as its query string, when q holds anything.
func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// pageFlags declares --limit (at most N items: e.g. "contacts (default
// 50)") and, unless cursor is "", the flag and query parameter named
// cursor that continues a list. The function it returns adds the ones
// given to a query.
func pageFlags(fs *flag.FlagSet, items, cursor string) func(url.Values) {
	limit := fs.Int("limit", 0, "at most `N` "+items)
	next := new(string)
	if cursor != "" {
		next = fs.String(cursor, "", "the `cursor` printed after the previous page")
	}
	return func(q url.Values) {
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		if *next != "" {
			q.Set(cursor, *next)
		}
	}
}

// splitList splits a comma-separated flag, dropping empty items; empty
// gives an empty list.
func splitList(v string) []string {
	out := []string{}
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// printRows prints aligned "field  value" lines.
func printRows(w io.Writer, rows [][2]string) {
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\n", r[0], r[1])
	}
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// keyCreator says who created a key: a user (and the key they used when
// it was not their own), a key, or the operator.
func keyCreator(k accounts.APIKey) string {
	switch c := k.CreatedBy; {
	case k.UserID != "":
		return k.UserEmail + " (personal)"
	case c == nil:
		return "operator"
	case c.UserEmail != "":
		return c.UserEmail + " via key " + c.KeyID
	default:
		return "key " + c.KeyID
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printAccount prints one account as aligned "field  value" lines.
func printAccount(w io.Writer, a accounts.Account) {
	printRows(w, [][2]string{
		{"id", a.ID}, {"parent", dash(a.ParentID)}, {"name", a.Name}, {"status", string(a.Status)},
		{"balance", accounts.FormatMoney(a.Balance, a.Currency)},
		{"billing", a.Billing}, {"credit_limit", accounts.FormatMoney(a.CreditLimit, a.Currency)},
		{"credit_reserved", accounts.FormatMoney(a.CreditReserved, a.Currency) + " (held for sub-accounts' credit limits)"},
		{"price_per_part", strconv.FormatInt(a.PricePerPart, 10)},
		{"default_country", a.DefaultCountry}, {"max_parts", strconv.Itoa(a.MaxParts)},
		{"long_message", a.LongMessage}, {"subject_mode", a.SubjectMode},
		{"sender_id", dash(a.SenderID)}, {"contact_email", dash(a.ContactEmail)},
		{"created", ts(a.CreatedAt)},
	})
}

// Response shapes of the API, as the CLI reads them.
type (
	accountsResp struct {
		Accounts []struct {
			accounts.Account
			KeyPrefixes []string `json:"key_prefixes"`
		} `json:"accounts"`
	}
	ledgerResp struct {
		Entries []accounts.LedgerEntry `json:"entries"`
	}
	transferResp struct { // a top-up's From only for the parent's keys
		From *accounts.LedgerEntry `json:"from"`
		To   *accounts.LedgerEntry `json:"to"`
	}
	keysResp struct {
		Keys []accounts.APIKey `json:"keys"`
	}
	newKeyResp struct {
		Secret string          `json:"secret"`
		Key    accounts.APIKey `json:"key"`
	}
)

// noOutput is the human form of a 204 answer; the caller prints a line.
type noOutput struct{}

// cliCommands is the command table.
func cliCommands() map[string]command {
	cmds := map[string]command{
		"account create": {"--name N [--contact-email E] [--country CC] [--price MINOR] [--currency CUR] [--max-parts N] [--long-message reject|truncate] [--subject ignore|prepend] [--sender-id S]", accountCreate},
		"account list": {"", func(*flag.FlagSet) runFunc {
			return func(ctx context.Context, c *client, args []string) error {
				if err := need(args, 0, ""); err != nil {
					return err
				}
				return call(ctx, c, "GET", "/v1/accounts", nil, func(w io.Writer, r accountsResp) {
					// The team page: name, contact, key prefixes, balance, status.
					fmt.Fprintln(w, "ID\tNAME\tCONTACT\tAPI KEYS\tBALANCE\tSTATUS\tPARENT")
					for _, a := range r.Accounts {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, dash(a.ContactEmail),
							dash(strings.Join(a.KeyPrefixes, " ")), accounts.FormatMoney(a.Balance, a.Currency), a.Status, dash(a.ParentID))
					}
				})
			}
		}},
		"account get": {"ID", byID("GET", "/v1/accounts/", "", func(w io.Writer, v accountViewResp) {
			printAccount(w, v.Account)
			names := slices.Sorted(maps.Keys(v.Quotas))
			for _, n := range names {
				fmt.Fprintf(w, "quota %s\t%d of %d\n", n, v.Quotas[n].Used, v.Quotas[n].Limit)
			}
		})},
		"account activate":   {"ID", byID("POST", "/v1/accounts/", "/activate", printAccount)},
		"account deactivate": {"ID", byID("POST", "/v1/accounts/", "/deactivate", printAccount)},
		"message get":        {"ID", byID("GET", "/v1/messages/", "", printMessage)},

		"balance get": {"--account ID", ofAccount("", false, func(w io.Writer, a accounts.Account) {
			fmt.Fprintf(w, "%s\t%s\t(%d minor units)\n", a.ID, accounts.FormatMoney(a.Balance, a.Currency), a.Balance)
		})},
		"balance credit": {"--account ID AMOUNT [--ref R]", transfer("credit", "credit")},
		"balance debit":  {"--account ID AMOUNT [--ref R]", transfer("debit", "debit")},
		"balance ledger": {"--account ID [--limit N]", ofAccount("/ledger", true, func(w io.Writer, r ledgerResp) {
			fmt.Fprintln(w, "AT\tKIND\tAMOUNT\tBALANCE\tREF\tACTOR")
			for _, e := range r.Entries {
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", ts(e.At), e.Kind, e.Amount, e.Balance, dash(e.Ref), dash(e.Actor))
			}
		})},
		"key list": {"--account ID", ofAccount("/keys", false, func(w io.Writer, r keysResp) {
			fmt.Fprintln(w, "ID\tROLE\tNAME\tCREATED\tCREATED BY\tLAST USED")
			for _, k := range r.Keys {
				role := string(k.Role)
				if k.Scope == accounts.ScopeSMTPRelay {
					role = "smtp relay"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, role, dash(k.Name), ts(k.CreatedAt), keyCreator(k), ts(k.LastUsedAt))
			}
		})},
		"key create": {"--account ID (--role parent_admin|sub_admin|advanced | --relay) [--name N]", keyCreate},
		"key revoke": {"--account ID KEYID", remove("keys", "KEYID", "key %s revoked\n")},
		"key rotate": {"--account ID KEYID", keyRotate},

		"message list": {"[--account ID] [--status S] [--sender E] [--number N] [--from D] [--to D] [--limit N] [--cursor C]", cliMessageList},
		"inbox list":   {"[--account ID] [--state unread|read|archived|all] [--sender E] [--number N] [--from D] [--to D] [--limit N] [--cursor C]", cliInboxList},
	}
	for _, kind := range []string{"domain", "address"} {
		plural := map[string]string{"domain": "domains", "address": "addresses"}[kind]
		arg := "--account ID " + strings.ToUpper(kind)
		cmds[kind+" add"] = command{arg, register(kind, plural)}
		cmds[kind+" remove"] = command{arg, remove(plural, strings.ToUpper(kind), kind+" %s removed\n")}
		cmds[kind+" list"] = command{"--account ID", ofAccount("/"+plural, false, func(w io.Writer, r regList) {
			for _, v := range append(r.Domains, r.Addresses...) {
				fmt.Fprintln(w, v)
			}
			for _, p := range r.Pending {
				if p.Domain != "" {
					fmt.Fprintf(w, "%s\tpending: TXT %s %q\n", p.Domain, p.TXTName, p.TXTValue)
				} else {
					fmt.Fprintf(w, "%s\tpending: waiting for its owner's confirmation until %s\n", p.Address, ts(p.ExpiresAt))
				}
			}
		})}
	}
	// Each area's commands live in its own file (cli_<area>.go).
	for _, area := range []map[string]command{cliUserCommands(), cliPermissionCommands(),
		cliBillingCommands(), cliWebhookCommands(), cliStatsCommands(), cliContactCommands(), cliInboxCommands(),
		cliOptOutCommands(), cliAutomationCommands(), cliSenderCommands(), cliTemplateCommands(),
		cliLimitsCommands(), cliPolicyCommands(), cliRegistrationCommands()} {
		maps.Copy(cmds, area)
	}
	return cmds
}

// byID is a command taking one ID argument: method prefix+ID+suffix.
func byID[T any](method, prefix, suffix string, human func(io.Writer, T)) func(*flag.FlagSet) runFunc {
	return func(*flag.FlagSet) runFunc {
		return func(ctx context.Context, c *client, args []string) error {
			if err := need(args, 1, "ID"); err != nil {
				return err
			}
			return call(ctx, c, method, prefix+esc(args[0])+suffix, nil, human)
		}
	}
}

// ofAccount is a command with a required --account and no arguments that
// GETs /v1/accounts/{id}+suffix, optionally with --limit.
func ofAccount[T any](suffix string, withLimit bool, human func(io.Writer, T)) func(*flag.FlagSet) runFunc {
	g := accountGet[T]{route: func([]string) string { return suffix }, human: human}
	if withLimit {
		g.items = "entries (default 50)"
	}
	return g.setup
}

// accountGet is a command with a required --account that GETs a route of
// the account, a list page or not, and prints the answer with human.
type accountGet[T any] struct {
	route func(args []string) string // the path after /v1/accounts/{id}
	n     int                        // positional arguments, named what
	what  string
	// Paging (pageFlags) when items is set: what --limit counts, and the
	// cursor flag of the next page ("" for none).
	items, cursor string
	// filters, if set, declares more flags and adds the given ones to the
	// query.
	filters func(*flag.FlagSet) func(url.Values)
	human   func(io.Writer, T)
}

func (g accountGet[T]) setup(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	query := []func(url.Values){}
	if g.items != "" {
		query = append(query, pageFlags(fs, g.items, g.cursor))
	}
	if g.filters != nil {
		query = append(query, g.filters(fs))
	}
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, g.n, g.what)
		if err != nil {
			return err
		}
		q := url.Values{}
		for _, add := range query {
			add(q)
		}
		return call(ctx, c, "GET", withQuery("/v1/accounts/"+esc(id)+g.route(args), q), nil, g.human)
	}
}

// onItem is a command with --account and one argument naming an item of
// the account (argName): method /v1/accounts/{id}/<plural>/{item}+suffix
// with body.
func onItem[T any](method, plural, argName, suffix string, body any, human func(io.Writer, T)) func(*flag.FlagSet) runFunc {
	return withAccount(1, argName, func(ctx context.Context, c *client, id string, args []string) error {
		return call(ctx, c, method, "/v1/accounts/"+esc(id)+"/"+plural+"/"+esc(args[0])+suffix, body, human)
	})
}

// accountDownload is a command with --account and no arguments that
// copies the CSV of /v1/accounts/{id}+suffix to the output.
func accountDownload(suffix string) func(*flag.FlagSet) runFunc {
	return withAccount(0, "", func(ctx context.Context, c *client, id string, args []string) error {
		return download(ctx, c, "/v1/accounts/"+esc(id)+suffix)
	})
}

func accountCreate(fs *flag.FlagSet) runFunc {
	str := map[string]*string{
		"name":            fs.String("name", "", "the sub-account's `name` (required)"),
		"contact_email":   fs.String("contact-email", "", "contact `email`"),
		"default_country": fs.String("country", "", "default `country` of numbers, ISO 3166-1 alpha-2 (default: the parent's)"),
		"currency":        fs.String("currency", "", "`currency`, ISO 4217 (default: the parent's)"),
		"long_message":    fs.String("long-message", "", "`policy` for texts over max-parts: reject or truncate"),
		"subject_mode":    fs.String("subject", "", "`mode` for the mail subject: ignore or prepend"),
		"sender_id":       fs.String("sender-id", "", "sender `id` (source address)"),
	}
	price := fs.Int64("price", 0, "price per SMS part in `minor` units (default: the parent's)")
	maxParts := fs.Int("max-parts", 0, "`N` parts per message at most")
	return func(ctx context.Context, c *client, args []string) error {
		if *str["name"] == "" {
			return usagef("--name is required")
		}
		if err := need(args, 0, ""); err != nil {
			return err
		}
		body := map[string]any{}
		for field, v := range str {
			if *v != "" {
				body[field] = *v
			}
		}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "price":
				body["price_per_part"] = *price
			case "max-parts":
				body["max_parts"] = *maxParts
			}
		})
		return call(ctx, c, "POST", "/v1/accounts", body, func(w io.Writer, r createdAccountResp) {
			printAccount(w, r.Account)
			if r.Key.Secret != "" {
				fmt.Fprintf(w, "its API key %s (sub_admin; shown once, store it now):\n%s\n", r.Key.Key.ID, r.Key.Secret)
			}
		})
	}
}

// accountViewResp is the answer to account get: the account and its quota
// usage.
type accountViewResp struct {
	accounts.Account
	Quotas map[string]accounts.QuotaUse `json:"quotas"`
}

// createdAccountResp is the answer to an account creation: the account and
// its own key.
type createdAccountResp struct {
	accounts.Account
	Key struct {
		Secret string          `json:"secret"`
		Key    accounts.APIKey `json:"key"`
	} `json:"key"`
}

func keyCreate(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	role := fs.String("role", "", "the key's `role`: parent_admin, sub_admin or advanced (basic is a user's role: invite the user)")
	name := fs.String("name", "", "a `name` for the key")
	relay := fs.Bool("relay", false, "an SMTP relay credential (AUTH password of one mail relay, for the account and its sub-accounts; not an API key)")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := acct()
		switch {
		case err != nil:
			return err
		case *relay && *role != "":
			return usagef("--relay takes no --role")
		case *role == "" && !*relay:
			return usagef("--role (or --relay) is required")
		}
		if err := need(args, 0, ""); err != nil {
			return err
		}
		body := map[string]string{"role": *role, "name": *name}
		if *relay {
			body = map[string]string{"scope": accounts.ScopeSMTPRelay, "name": *name}
		}
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/keys", body, func(w io.Writer, r newKeyResp) {
			if r.Key.Scope == accounts.ScopeSMTPRelay {
				fmt.Fprintf(w, "relay key %s created for account %s and its sub-accounts (SMTP AUTH only)\n", r.Key.ID, r.Key.AccountID)
				fmt.Fprintf(w, "password (shown once, store it in the relay's SASL settings; any user name):\n%s\n", r.Secret)
				return
			}
			fmt.Fprintf(w, "key %s (%s) created for account %s\n", r.Key.ID, r.Key.Role, r.Key.AccountID)
			fmt.Fprintf(w, "secret (shown once, store it now):\n%s\n", r.Secret)
		})
	}
}

// keyRotate is "key rotate --account ID KEYID": a new secret for the same key.
var keyRotate = withAccount(1, "KEYID", func(ctx context.Context, c *client, id string, args []string) error {
	return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/keys/"+esc(args[0])+"/rotate", nil, func(w io.Writer, r newKeyResp) {
		fmt.Fprintf(w, "key %s rotated: the old secret no longer works\nnew secret (shown once, store it now):\n%s\n", r.Key.ID, r.Secret)
	})
})

// transfer is "balance credit|debit|topup --account ID AMOUNT": POST
// /v1/accounts/{id}/<route>. done names the move in the output. A top-up's
// parent side is shown only to the parent's own keys.
func transfer(route, done string) func(*flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		acct := accountFlag(fs)
		ref := fs.String("ref", "", "a `reference` recorded in both ledgers")
		return func(ctx context.Context, c *client, args []string) error {
			id, err := accountArgs(acct, args, 1, "AMOUNT")
			if err != nil {
				return err
			}
			amount, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || amount <= 0 {
				return usagef("AMOUNT %q must be a positive whole number of minor units", args[0])
			}
			body := map[string]any{"amount": amount, "ref": *ref}
			return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/"+route, body, func(w io.Writer, r transferResp) {
				fmt.Fprintf(w, "%s of %d minor units done\n", done, amount)
				fmt.Fprintln(w, "ACCOUNT\tCHANGE\tBALANCE")
				for _, e := range []*accounts.LedgerEntry{r.From, r.To} {
					if e != nil {
						fmt.Fprintf(w, "%s\t%+d\t%d\n", e.AccountID, e.Amount, e.Balance)
					}
				}
			})
		}
	}
}

// register is "domain|address add --account ID VALUE".
func register(kind, plural string) func(*flag.FlagSet) runFunc {
	return withAccount(1, strings.ToUpper(kind), func(ctx context.Context, c *client, id string, args []string) error {
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/"+plural, map[string]string{kind: args[0]}, func(w io.Writer, r regState) {
			printRegState(w, kind, id, r)
		})
	})
}

// remove is "domain|address remove" and "key revoke": DELETE
// /v1/accounts/{id}/<plural>/<arg>, then print done with the argument.
func remove(plural, argName, done string) func(*flag.FlagSet) runFunc {
	return withAccount(1, argName, func(ctx context.Context, c *client, id string, args []string) error {
		return call(ctx, c, "DELETE", "/v1/accounts/"+esc(id)+"/"+plural+"/"+esc(args[0]), nil, func(w io.Writer, _ noOutput) {
			fmt.Fprintf(w, done, args[0])
		})
	})
}

// printMessage prints one message as aligned "field  value" lines.
func printMessage(w io.Writer, m accounts.Message) {
	printRows(w, [][2]string{
		{"id", m.ID}, {"account", m.AccountID}, {"sender", m.Sender}, {"to", m.To},
		{"status", string(m.Status)}, {"parts", strconv.Itoa(m.Parts)},
		{"price", strconv.FormatInt(m.Price, 10)}, {"link", dash(m.Link)},
		{"smsc_id", dash(m.SMSCID)}, {"error", dash(m.Error)},
		{"attempts", strconv.Itoa(m.Attempts)}, {"created", ts(m.CreatedAt)},
		{"submitted", ts(m.SubmittedAt)}, {"done", ts(m.DoneAt)}, {"text", m.Text},
	})
}
