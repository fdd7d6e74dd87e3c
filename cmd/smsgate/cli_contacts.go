package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/api"
)

// Response shapes of the contact and group routes, as the CLI reads them.
type (
	contactsResp struct {
		Contacts []accounts.Contact `json:"contacts"`
		Next     string             `json:"next"`
	}
	groupResp struct {
		accounts.Group
		ReadOnly bool `json:"read_only"`
	}
	groupsResp struct {
		Groups []groupResp `json:"groups"`
	}
)

// cliContactCommands are the "contact ..." and "group ..." commands.
func cliContactCommands() map[string]command {
	return map[string]command{
		"contact add":    {"--account ID NUMBER [--first-name N] [--last-name N] [--email E] [--field KEY=VALUE ...]", contactAdd},
		"contact get":    {"--account ID CONTACT", onItem("GET", "contacts", "CONTACT", "", nil, printContact)},
		"contact update": {"--account ID CONTACT [--number N] [--first-name N] [--last-name N] [--email E] [--field KEY=VALUE ...]", contactUpdate},
		"contact delete": {"--account ID CONTACT", onItem("DELETE", "contacts", "CONTACT", "", nil, func(w io.Writer, _ noOutput) { fmt.Fprintln(w, "contact deleted") })},
		"contact list": {"--account ID [--number N | --prefix DIGITS] [--limit N] [--after CURSOR]", accountGet[contactsResp]{
			route: func([]string) string { return "/contacts" }, items: "contacts (default 50)", cursor: "after",
			filters: contactFilters, human: printContacts}.setup},
		"contact import": {"--account ID FILE.csv [--group GROUP]", contactImport},
		"contact export": {"--account ID > contacts.csv", accountDownload("/contacts.csv")},

		"group create": {"--account ID NAME", groupCreate},
		"group list":   {"--account ID", ofAccount("/groups", false, printGroups)},
		"group rename": {"--account ID GROUP NAME", groupRename},
		"group delete": {"--account ID GROUP", groupCmd("DELETE", "", 0, "")},
		"group members": {"--account ID GROUP [--limit N] [--after CURSOR]", accountGet[contactsResp]{
			route: func(args []string) string { return "/groups/" + esc(args[0]) + "/members" }, n: 1, what: "GROUP",
			items: "members (default 50)", cursor: "after", human: printContacts}.setup},
		"group add":     {"--account ID GROUP CONTACT|NUMBER...", groupAdd},
		"group remove":  {"--account ID GROUP CONTACT|NUMBER...", groupCmd("DELETE", "/members/", -1, "removed from group")},
		"group share":   {"--account ID GROUP SUBACCOUNT...", groupShare},
		"group unshare": {"--account ID GROUP SUBACCOUNT...", groupCmd("DELETE", "/sharing/", -1, "no longer shared with")},
	}
}

// fieldsFlag collects repeated --field KEY=VALUE.
type fieldsFlag map[string]string

func (f fieldsFlag) String() string { return "" }

func (f fieldsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	f[strings.TrimSpace(k)] = val
	return nil
}

// contactFlags declares the flags of a contact's values and returns the
// body of the ones given.
func contactFlags(fs *flag.FlagSet) func() map[string]any {
	str := map[string]*string{
		"first_name": fs.String("first-name", "", "first `name`"),
		"last_name":  fs.String("last-name", "", "last `name`"),
		"email":      fs.String("email", "", "email `address`"),
	}
	fields := fieldsFlag{}
	fs.Var(fields, "field", "custom field `KEY=VALUE` (repeatable; an empty value removes it on update)")
	return func() map[string]any {
		body := map[string]any{}
		fs.Visit(func(f *flag.Flag) {
			key := strings.ReplaceAll(f.Name, "-", "_")
			if p, ok := str[key]; ok {
				body[key] = *p
			}
		})
		if len(fields) > 0 {
			body["fields"] = map[string]string(fields)
		}
		return body
	}
}

func contactAdd(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	values := contactFlags(fs)
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 1, "NUMBER")
		if err != nil {
			return err
		}
		body := values()
		body["number"] = args[0]
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/contacts", body, printContact)
	}
}

func contactUpdate(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	values := contactFlags(fs)
	number := fs.String("number", "", "new phone `number`")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 1, "CONTACT")
		if err != nil {
			return err
		}
		body := values()
		if *number != "" {
			body["number"] = *number
		}
		if len(body) == 0 {
			return usagef("give at least one of --number, --first-name, --last-name, --email, --field")
		}
		return call(ctx, c, "PATCH", "/v1/accounts/"+esc(id)+"/contacts/"+esc(args[0]), body, printContact)
	}
}

// contactFilters declares the filters of "contact list".
func contactFilters(fs *flag.FlagSet) func(url.Values) {
	number := fs.String("number", "", "only the contact of this phone `number`")
	prefix := fs.String("prefix", "", "only numbers starting with these E.164 `digits`")
	return func(q url.Values) {
		for k, v := range map[string]string{"number": *number, "prefix": *prefix} {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
}

// contactImport posts a CSV file as it is.
func contactImport(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	group := fs.String("group", "", "also add the contacts to this `group`")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 1, "FILE.csv")
		if err != nil {
			return err
		}
		f, err := os.Open(args[0])
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		path := "/v1/accounts/" + esc(id) + "/contacts.csv"
		if *group != "" {
			path += "?group=" + url.QueryEscape(*group)
		}
		data, err := postCSV(ctx, c, path, f)
		if err != nil {
			return err
		}
		if c.json {
			_, err := c.out.Write(data)
			return err
		}
		var res accounts.ImportResult
		if err := json.Unmarshal(data, &res); err != nil {
			return fmt.Errorf("decode import result: %w", err)
		}
		fmt.Fprintf(c.out, "%d contacts imported, %d updated, %d rows refused\n", res.Imported, res.Updated, res.ErrorsTotal)
		if res.Group != "" {
			fmt.Fprintf(c.out, "%d added to group %s\n", res.Added, res.Group)
		}
		for _, e := range res.Errors {
			fmt.Fprintf(c.out, "row %d: %s %q: %s\n", e.Row, dash(e.Column), e.Value, e.Error)
		}
		if n := res.ErrorsTotal - len(res.Errors); n > 0 {
			fmt.Fprintf(c.out, "... and %d more refused rows\n", n)
		}
		return nil
	}
}

// postCSV sends body as text/csv and returns the answer; an error answer
// is returned as its *api.Problem.
func postCSV(ctx context.Context, c *client, path string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(c.api.BaseURL, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("request POST %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.api.Key)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Accept", "application/json")
	hc := http.Client{Timeout: exportTimeout}
	if c.api.HTTP != nil {
		hc.Transport = c.api.HTTP.Transport
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer of POST %s: %w", path, err)
	}
	if resp.StatusCode >= 400 {
		p := &api.Problem{}
		if json.Unmarshal(data, p) != nil || p.Detail == "" {
			p = &api.Problem{Title: http.StatusText(resp.StatusCode), Detail: http.StatusText(resp.StatusCode)}
		}
		p.Status = resp.StatusCode
		return nil, p
	}
	return data, nil
}

var groupCreate = withAccount(1, "NAME", func(ctx context.Context, c *client, id string, args []string) error {
	return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/groups", map[string]string{"name": args[0]}, printGroup)
})

var groupRename = withAccount(2, "GROUP and NAME", func(ctx context.Context, c *client, id string, args []string) error {
	return call(ctx, c, "PATCH", "/v1/accounts/"+esc(id)+"/groups/"+esc(args[0]), map[string]string{"name": args[1]}, printGroup)
})

// groupCmd is a DELETE on a group (n == 0: the group itself) or on each of
// its arguments after the group (n < 0: "/members/X", "/sharing/X").
func groupCmd(method, sub string, n int, done string) func(*flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		acct := accountFlag(fs)
		return func(ctx context.Context, c *client, args []string) error {
			id, err := acct()
			switch {
			case err != nil:
				return err
			case n == 0:
				err = need(args, 1, "GROUP")
			case len(args) < 2:
				err = usagef("GROUP and at least one argument after it are required")
			}
			if err != nil {
				return err
			}
			base := "/v1/accounts/" + esc(id) + "/groups/" + esc(args[0])
			if n == 0 {
				return call(ctx, c, method, base, nil, func(w io.Writer, _ noOutput) { fmt.Fprintf(w, "group %s deleted\n", args[0]) })
			}
			for _, a := range args[1:] {
				if err := call(ctx, c, method, base+sub+esc(a), nil, func(w io.Writer, _ json.RawMessage) {
					fmt.Fprintf(w, "%s %s %s\n", a, done, args[0])
				}); err != nil {
					return err
				}
			}
			return nil
		}
	}
}

// groupAdd adds arguments to a group: contact ids (c<shard>-...) as they
// are, anything else as a number.
func groupAdd(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	return func(ctx context.Context, c *client, args []string) error {
		id, err := acct()
		if err == nil && len(args) < 2 {
			err = usagef("GROUP and at least one CONTACT or NUMBER are required")
		}
		if err != nil {
			return err
		}
		body := map[string][]string{"contacts": {}, "numbers": {}}
		for _, a := range args[1:] {
			if isContactID(a) {
				body["contacts"] = append(body["contacts"], a)
			} else {
				body["numbers"] = append(body["numbers"], a)
			}
		}
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/groups/"+esc(args[0])+"/members", body,
			func(w io.Writer, r accounts.MembersChange) {
				fmt.Fprintf(w, "%d added (%d new contacts); group %s has %d members\n", r.Changed, r.Created, args[0], r.Members)
				for _, u := range r.Unknown {
					fmt.Fprintf(w, "not a contact of account %s: %s\n", id, u)
				}
			})
	}
}

// isContactID tells a contact id ("c0-...") from a number.
func isContactID(s string) bool {
	return strings.HasPrefix(s, "c") && strings.Contains(s, "-") && !strings.ContainsAny(s, "+ ")
}

func groupShare(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	return func(ctx context.Context, c *client, args []string) error {
		id, err := acct()
		if err == nil && len(args) < 2 {
			err = usagef("GROUP and at least one SUBACCOUNT are required")
		}
		if err != nil {
			return err
		}
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/groups/"+esc(args[0])+"/sharing",
			map[string][]string{"sub_accounts": args[1:]}, printGroup)
	}
}

// printContact prints one contact as aligned "field  value" lines.
func printContact(w io.Writer, ct accounts.Contact) {
	rows := [][2]string{
		{"id", ct.ID}, {"account", ct.AccountID}, {"number", "+" + ct.Number},
		{"first_name", dash(ct.FirstName)}, {"last_name", dash(ct.LastName)}, {"email", dash(ct.Email)},
	}
	for _, k := range slices.Sorted(maps.Keys(ct.Fields)) {
		rows = append(rows, [2]string{"field " + k, ct.Fields[k]})
	}
	rows = append(rows, [2]string{"created", ts(ct.CreatedAt)}, [2]string{"updated", ts(ct.UpdatedAt)})
	printRows(w, rows)
}

func printContacts(w io.Writer, r contactsResp) {
	fmt.Fprintln(w, "ID\tNUMBER\tFIRST\tLAST\tEMAIL")
	for _, ct := range r.Contacts {
		fmt.Fprintf(w, "%s\t+%s\t%s\t%s\t%s\n", ct.ID, ct.Number, dash(ct.FirstName), dash(ct.LastName), dash(ct.Email))
	}
	if r.Next != "" {
		fmt.Fprintf(w, "more: --after %s\n", r.Next)
	}
}

func printGroup(w io.Writer, g groupResp) {
	shared := strings.Join(g.SharedWith, ",")
	if g.ReadOnly {
		shared = "read-only, shared by " + g.AccountID
	}
	printRows(w, [][2]string{
		{"id", g.ID}, {"account", g.AccountID}, {"name", g.Name}, {"members", strconv.Itoa(g.Members)},
		{"shared", dash(shared)}, {"created", ts(g.CreatedAt)},
	})
}

func printGroups(w io.Writer, r groupsResp) {
	fmt.Fprintln(w, "ID\tNAME\tMEMBERS\tSHARED\tCREATED")
	for _, g := range r.Groups {
		shared := strings.Join(g.SharedWith, ",")
		if g.ReadOnly {
			shared = "from " + g.AccountID + " (read-only)"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", g.ID, g.Name, g.Members, dash(shared), ts(g.CreatedAt))
	}
}
