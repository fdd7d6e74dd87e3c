package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// permissionsResp is the API's view of an account's permission flags.
type permissionsResp struct {
	AccountID string   `json:"account_id"`
	EveryFlag bool     `json:"every_flag"`
	Granted   []string `json:"granted"`
	Enabled   []string `json:"enabled"`
}

// cliPermissionCommands are the commands of permission flags: read them, and set granted (the parent's administrators) or switch
// enabled ones (also a sub-account's own admin holding modify_users).
func cliPermissionCommands() map[string]command {
	return map[string]command{
		"permissions get": {"--account ID", ofAccount("/permissions", false, printPermissions)},
		"permissions set": {"--account ID [--grant f1,f2] [--enable f1,f2] [--disable f3]", permissionsSet},
	}
}

// printPermissions prints one line per flag: granted and enabled.
func printPermissions(w io.Writer, p permissionsResp) {
	if p.EveryFlag {
		fmt.Fprintf(w, "account %s is a parent account: every flag is in force\n", p.AccountID)
		return
	}
	fmt.Fprintln(w, "FLAG\tGRANTED\tENABLED")
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "-"
	}
	for _, f := range accounts.Flags() {
		fmt.Fprintf(w, "%s\t%s\t%s\n", f, yes(slices.Contains(p.Granted, f)), yes(slices.Contains(p.Enabled, f)))
	}
}

// permissionsSet: --grant replaces the granted list; --enable and
// --disable switch flags on and off relative to the enabled ones in force
// (read first), so that "--disable send_bulk" leaves the others alone.
func permissionsSet(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	grant := fs.String("grant", "", "comma-separated `flags` granted to the sub-account (replaces the list; parent's administrators only)")
	enable := fs.String("enable", "", "comma-separated `flags` to switch on, within granted")
	disable := fs.String("disable", "", "comma-separated `flags` to switch off")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := accountArgs(acct, args, 0, "")
		if err != nil {
			return err
		}
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		if !given["grant"] && !given["enable"] && !given["disable"] {
			return usagef("give --grant, --enable or --disable")
		}
		for _, name := range []string{"grant", "enable", "disable"} {
			for _, f := range splitList(fs.Lookup(name).Value.String()) {
				if !accounts.ValidFlag(f) {
					return usagef("--%s: unknown flag %q (flags: %s)", name, f, strings.Join(accounts.Flags(), ", "))
				}
			}
		}
		body := map[string][]string{}
		if given["grant"] {
			body["granted"] = splitList(*grant)
		}
		if given["enable"] || given["disable"] {
			cur, err := getPermissions(ctx, c, id)
			if err != nil {
				return err
			}
			enabled := cur.Enabled
			if g, ok := body["granted"]; ok { // what the server would keep
				enabled = slices.DeleteFunc(slices.Clone(enabled), func(f string) bool { return !slices.Contains(g, f) })
			}
			for _, f := range splitList(*enable) {
				if !slices.Contains(enabled, f) {
					enabled = append(enabled, f)
				}
			}
			off := splitList(*disable)
			enabled = slices.DeleteFunc(slices.Clone(enabled), func(f string) bool { return slices.Contains(off, f) })
			slices.Sort(enabled)
			body["enabled"] = enabled
		}
		return call(ctx, c, "PUT", "/v1/accounts/"+esc(id)+"/permissions", body, printPermissions)
	}
}

// getPermissions reads the flags of account id.
func getPermissions(ctx context.Context, c *client, id string) (permissionsResp, error) {
	var p permissionsResp
	q := &client{api: c.api, out: io.Discard}
	err := call(ctx, q, "GET", "/v1/accounts/"+esc(id)+"/permissions", nil, func(_ io.Writer, v permissionsResp) { p = v })
	if err != nil {
		return p, fmt.Errorf("read the permissions of %s: %w", id, err)
	}
	if p.Enabled == nil {
		p.Enabled = []string{}
	}
	return p, nil
}
