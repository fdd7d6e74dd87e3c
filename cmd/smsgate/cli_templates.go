package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// templatesResp is the answer of the template list route.
type templatesResp struct {
	AccountID string                     `json:"account_id"`
	Templates []accounts.TemplateListing `json:"templates"`
}

// cliTemplateCommands are the commands of message templates: an account's
// own and its parent's (shared read-only with every sub-account). Sending
// with one is "message send --template NAME" (cli_stats.go).
func cliTemplateCommands() map[string]command {
	return map[string]command{
		"template list":   {"--account ID", ofAccount("/templates", false, printTemplates)},
		"template get":    {"--account ID TEMPLATE", onItem("GET", "templates", "TEMPLATE (an id or a name)", "", nil, printTemplate)},
		"template create": {"--account ID --name NAME (--body TEXT | --body-file PATH)", templateCreate},
		"template update": {"--account ID TEMPLATE [--name NAME] [--body TEXT | --body-file PATH]", templateUpdate},
		"template delete": {"--account ID TEMPLATE", onItem("DELETE", "templates", "TEMPLATE (an id or a name)", "", nil, func(w io.Writer, _ noOutput) {
			fmt.Fprintln(w, "template deleted")
		})},
	}
}

// templateOrigin says where a listed template comes from.
func templateOrigin(t accounts.TemplateListing) string {
	switch {
	case t.Shadowed:
		return "parent " + t.AccountID + " (shadowed)"
	case t.Inherited:
		return "parent " + t.AccountID
	}
	return "own"
}

// oneLine shortens a body for a table cell.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 50 {
		return string(r[:49]) + "…"
	}
	return s
}

func printTemplates(w io.Writer, r templatesResp) {
	fmt.Fprintln(w, "NAME\tID\tFROM\tUPDATED\tBODY")
	for _, t := range r.Templates {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, templateOrigin(t), ts(t.UpdatedAt), oneLine(t.Body))
	}
}

func printTemplate(w io.Writer, t accounts.TemplateListing) {
	printRows(w, [][2]string{{"id", t.ID}, {"name", t.Name}, {"account", t.AccountID}, {"from", templateOrigin(t)},
		{"created", ts(t.CreatedAt)}, {"updated", ts(t.UpdatedAt)}})
	fmt.Fprintf(w, "body\t\n%s\n", t.Body)
}

// bodyFlags declares --body and --body-file and returns what was given:
// nil when neither.
func bodyFlags(fs *flag.FlagSet) func() (*string, error) {
	body := fs.String("body", "", "the template `text`, with {{placeholders}}")
	file := fs.String("body-file", "", "read the template text from `PATH`")
	return func() (*string, error) {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		switch {
		case given["body"] && given["body-file"]:
			return nil, usagef("give --body or --body-file, not both")
		case given["body"]:
			return body, nil
		case given["body-file"]:
			b, err := os.ReadFile(*file)
			if err != nil {
				return nil, usagef("--body-file: %v", err)
			}
			s := strings.TrimRight(string(b), "\r\n")
			return &s, nil
		}
		return nil, nil
	}
}

func templateCreate(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	name := fs.String("name", "", "the template's `name` (unique in the account, case-insensitive)")
	body := bodyFlags(fs)
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 0, "")
		if err != nil {
			return err
		}
		b, err := body()
		switch {
		case err != nil:
			return err
		case *name == "":
			return usagef("--name is required")
		case b == nil:
			return usagef("--body or --body-file is required")
		}
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/templates",
			map[string]string{"name": *name, "body": *b}, printTemplate)
	}
}

func templateUpdate(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	name := fs.String("name", "", "new `name`")
	body := bodyFlags(fs)
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 1, "TEMPLATE (an id or a name)")
		if err != nil {
			return err
		}
		b, err := body()
		if err != nil {
			return err
		}
		in := map[string]string{}
		if *name != "" {
			in["name"] = *name
		}
		if b != nil {
			in["body"] = *b
		}
		if len(in) == 0 {
			return usagef("give --name, --body or --body-file")
		}
		return call(ctx, c, "PATCH", "/v1/accounts/"+esc(id)+"/templates/"+esc(args[0]), in, printTemplate)
	}
}
