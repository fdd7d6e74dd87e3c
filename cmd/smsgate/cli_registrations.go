package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
)

// cliRegistrationCommands are the registration steps beyond add, list and
// remove: proving control of a domain, confirming an address.
func cliRegistrationCommands() map[string]command {
	return map[string]command{
		"domain verify":   {"--account ID DOMAIN   (after publishing the TXT record that 'domain add' printed)", domainVerify},
		"address confirm": {"TOKEN   (no API key needed: the token mailed to the address is the proof)", addressConfirm},
	}
}

// regState is the answer of POST domains, addresses and their verify and
// confirm routes.
type regState struct {
	Domain   string `json:"domain"`
	Address  string `json:"address"`
	Status   string `json:"status"`
	TXTName  string `json:"txt_name"`
	TXTValue string `json:"txt_value"`
	Detail   string `json:"detail"`
}

// regList is the answer of GET domains or addresses.
type regList struct {
	Domains   []string `json:"domains"`
	Addresses []string `json:"addresses"`
	Pending   []struct {
		Domain    string    `json:"domain"`
		TXTName   string    `json:"txt_name"`
		TXTValue  string    `json:"txt_value"`
		Address   string    `json:"address"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"pending"`
}

// printRegState prints what a registration step did and, while pending,
// what to do next.
func printRegState(w io.Writer, kind, acct string, r regState) {
	what := r.Domain
	if kind == "address" {
		what = r.Address
	}
	switch {
	case r.Status == "verified":
		fmt.Fprintf(w, "%s %s registered to account %s\n", kind, what, acct)
	case kind == "domain":
		fmt.Fprintf(w, "domain %s is pending: prove control by publishing this DNS TXT record\n", what)
		fmt.Fprintf(w, "  %s  TXT  %q\n", r.TXTName, r.TXTValue)
		fmt.Fprintf(w, "then run: smsgate domain verify --account %s %s\n", acct, what)
		fmt.Fprintln(w, "(or ask the operator: smsgate admin domain approve). Until then its mail is refused.")
	default:
		fmt.Fprintf(w, "address %s is pending: %s\n", what, r.Detail)
	}
}

func domainVerify(fs *flag.FlagSet) runFunc {
	return withAccount(1, "DOMAIN", func(ctx context.Context, c *client, id string, args []string) error {
		return call(ctx, c, "POST", "/v1/accounts/"+esc(id)+"/domains/"+esc(args[0])+"/verify", nil, func(w io.Writer, r regState) {
			printRegState(w, "domain", id, r)
		})
	})(fs)
}

func addressConfirm(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, c *client, args []string) error {
		if err := need(args, 1, "TOKEN"); err != nil {
			return err
		}
		return call(ctx, c, "POST", "/v1/address-confirmations", map[string]string{"token": args[0]}, func(w io.Writer, r regState) {
			fmt.Fprintf(w, "address %s confirmed: its mail may now be sent as SMS by the account that asked\n", r.Address)
		})
	}
}

// adminDomain is "admin domain approve --config F --account ID DOMAIN": the
// operator registers a domain without a DNS proof.
func adminDomain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: smsgate admin domain approve --config FILE --account ID DOMAIN"
	if len(args) == 0 || args[0] != "approve" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("admin domain approve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (for redis)")
	acct := fs.String("account", "", "the account `ID` that gets the domain")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	if *cfgPath == "" || *acct == "" || len(pos) != 1 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	return withStore(*cfgPath, stderr, func(store *redisstore.Store) int {
		return adminDomainApprove(ctx, store, *acct, pos[0], stdout, stderr)
	})
}

func adminDomainApprove(ctx context.Context, store *redisstore.Store, acct, domain string, stdout, stderr io.Writer) int {
	err := store.ApproveDomain(ctx, acct, domain)
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		fmt.Fprintf(stderr, "smsgate: account %s not found\n", acct)
		return 1
	case errors.Is(err, accounts.ErrDomainTaken):
		fmt.Fprintf(stderr, "smsgate: domain %s is already registered to another account\n", domain)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "smsgate:", err)
		return 1
	}
	fmt.Fprintf(stdout, "domain %s approved for account %s\n", domain, acct)
	return 0
}
