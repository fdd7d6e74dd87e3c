package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// Response shapes of the user routes, as the CLI reads them.
type (
	membersResp struct {
		Members []accounts.Member `json:"members"`
	}
	invitationsResp struct {
		Invitations []accounts.Invitation `json:"invitations"`
	}
	newInvitationResp struct {
		Token      string              `json:"token"`
		Mailed     bool                `json:"mailed"`
		Invitation accounts.Invitation `json:"invitation"`
	}
)

// cliUserCommands are the commands of users, memberships, invitations and
// login.
func cliUserCommands() map[string]command {
	return map[string]command{
		"user list":          {"--account ID", ofAccount("/members", false, printMembers)},
		"user invite":        {"--account ID --email E --role parent_admin|sub_admin|advanced|basic [--expires-hours N]", userInvite},
		"user invitations":   {"--account ID", ofAccount("/invitations", false, printInvitations)},
		"user revoke-invite": {"--account ID INVITATION", remove("invitations", "INVITATION", "invitation %s revoked\n")},
		"user accept":        {"TOKEN [--name N] [--password-file F]   (no API key needed; a new user needs both)", userAccept},
		"user set-role":      {"--account ID USER|EMAIL parent_admin|sub_admin|advanced|basic", userPatch("ROLE")},
		"user owner":         {"--account ID USER|EMAIL on|off", userPatch("on|off")},
		"user remove":        {"--account ID USER|EMAIL", remove("members", "USER", "member %s removed\n")},
		"login":              {"--email E [--account ID] [--password-file F]   (password from SMSGATE_PASSWORD or the file; prints the session key)", login},
	}
}

// cliNoKey names the commands that run without an API key: they are how a
// user gets one.
func cliNoKey() map[string]bool {
	return map[string]bool{"user accept": true, "login": true, "address confirm": true}
}

func printMembers(w io.Writer, r membersResp) {
	fmt.Fprintln(w, "USER\tEMAIL\tNAME\tROLE\tOWNER\tJOINED")
	for _, m := range r.Members {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", m.UserID, m.Email, dash(m.Name), m.Role, map[bool]string{true: "owner", false: "-"}[m.Owner], ts(m.JoinedAt))
	}
}

func printMember(w io.Writer, m accounts.Member) {
	printMembers(w, membersResp{Members: []accounts.Member{m}})
}

func printInvitations(w io.Writer, r invitationsResp) {
	fmt.Fprintln(w, "ID\tEMAIL\tROLE\tEXPIRES\tBY")
	for _, i := range r.Invitations {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", i.ID, i.Email, i.Role, ts(i.ExpiresAt), dash(i.CreatedBy))
	}
}

func userInvite(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	email := fs.String("email", "", "the invitee's `email`")
	role := fs.String("role", "", "the member's `role`")
	hours := fs.Int("expires-hours", 0, "the invitation expires after `N` hours (default 168, at most 720)")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := acct()
		switch {
		case err != nil:
			return err
		case *email == "":
			return usagef("--email is required")
		case *role == "":
			return usagef("--role is required")
		}
		if err := need(args, 0, ""); err != nil {
			return err
		}
		body := map[string]any{"email": *email, "role": *role}
		if *hours != 0 {
			body["expires_in_hours"] = *hours
		}
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/invitations", body, func(w io.Writer, r newInvitationResp) {
			i := r.Invitation
			fmt.Fprintf(w, "invitation %s for %s (%s) to account %s, expires %s\n", i.ID, i.Email, i.Role, i.AccountID, ts(i.ExpiresAt))
			if r.Mailed {
				fmt.Fprintf(w, "the token was mailed to %s, who accepts with \"smsgate user accept TOKEN\"\n", i.Email)
				return
			}
			fmt.Fprintf(w, "token (shown once; the invitee runs \"smsgate user accept TOKEN\"):\n%s\n", r.Token)
		})
	}
}

func userAccept(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "your `name`, for a new user")
	pwFile := fs.String("password-file", "", "read the new user's password from `file` (or set SMSGATE_PASSWORD)")
	return func(ctx context.Context, c *client, args []string) error {
		if err := need(args, 1, "TOKEN"); err != nil {
			return err
		}
		pw, err := cliPassword(c, *pwFile, false)
		if err != nil {
			return err
		}
		body := map[string]string{"token": args[0], "name": *name, "password": pw}
		return call(ctx, c, "POST", "/v1/invitations/accept", body, func(w io.Writer, r accounts.Acceptance) {
			if r.User == nil || r.Member == nil {
				return
			}
			fmt.Fprintf(w, "%s is now %s of account %s\n", r.User.Email, r.Member.Role, r.Member.AccountID)
			fmt.Fprintf(w, "log in with: smsgate login --email %s --account %s\n", r.User.Email, r.Member.AccountID)
		})
	}
}

// userPatch is "user set-role" and "user owner": PATCH the member with the
// second argument (a role, or on|off).
func userPatch(what string) func(*flag.FlagSet) runFunc {
	return withAccount(2, "USER and "+what, func(ctx context.Context, c *client, id string, args []string) error {
		body := map[string]any{"role": args[1]}
		if what == "on|off" {
			switch args[1] {
			case "on":
				body = map[string]any{"owner": true}
			case "off":
				body = map[string]any{"owner": false}
			default:
				return usagef("%q must be on or off", args[1])
			}
		}
		return call(ctx, c, "PATCH", "/v1/accounts/"+esc(id)+"/members/"+esc(args[0]), body, printMember)
	})
}

func login(fs *flag.FlagSet) runFunc {
	email := fs.String("email", "", "your `email`")
	acct := fs.String("account", "", "the account `ID` to act in (may be omitted by a member of one account)")
	pwFile := fs.String("password-file", "", "read the password from `file` (default: SMSGATE_PASSWORD)")
	return func(ctx context.Context, c *client, args []string) error {
		if *email == "" {
			return usagef("--email is required")
		}
		if err := need(args, 0, ""); err != nil {
			return err
		}
		pw, err := cliPassword(c, *pwFile, true)
		if err != nil {
			return err
		}
		body := map[string]string{"email": *email, "password": pw, "account_id": *acct}
		return call(ctx, c, "POST", "/v1/auth/login", body, func(w io.Writer, r newKeyResp) {
			// The secret alone, so that SMSGATE_API_KEY=$(smsgate login ...) works.
			fmt.Fprintln(w, r.Secret)
		})
	}
}

// cliPassword reads a password from file, else from SMSGATE_PASSWORD. A
// trailing line break in the file is not part of it.
func cliPassword(c *client, file string, required bool) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("--password-file: %v", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if c.env != nil {
		if pw := c.env("SMSGATE_PASSWORD"); pw != "" {
			return pw, nil
		}
	}
	if required {
		return "", usagef("a password is required: set SMSGATE_PASSWORD or give --password-file")
	}
	return "", nil
}

// cliConfigFile is the CLI's configuration: lines "url = ..." and
// "key = ...", blank lines and # comments. It is read from SMSGATE_CONFIG,
// else ~/.config/smsgate/cli.conf (which may be absent), and used for what
// SMSGATE_URL and SMSGATE_API_KEY do not set. warn is set when the file
// holds a key but others may read it.
func cliConfigFile(env func(string) string) (url, key, warn string, err error) {
	path, explicit := env("SMSGATE_CONFIG"), true
	if path == "" {
		home := env("HOME")
		if home == "" {
			return "", "", "", nil
		}
		path, explicit = home+"/.config/smsgate/cli.conf", false
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) && !explicit {
		return "", "", "", nil
	}
	if err != nil {
		return "", "", "", fmt.Errorf("config %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", "", "", fmt.Errorf("config %s: %w", path, err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			return "", "", "", fmt.Errorf("config %s:%d: %q is not \"name = value\"", path, i+1, line)
		case name == "url":
			url = value
		case name == "key":
			key = value
		default:
			return "", "", "", fmt.Errorf("config %s:%d: unknown setting %q (want url or key)", path, i+1, name)
		}
	}
	if st, err := f.Stat(); err == nil && key != "" && st.Mode().Perm()&0o077 != 0 {
		warn = fmt.Sprintf("warning: %s holds an API key and is readable by others (mode %s); chmod 600 it", path, strconv.FormatUint(uint64(st.Mode().Perm()), 8))
	}
	return url, key, warn, nil
}
