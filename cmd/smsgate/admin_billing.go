package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
)

// adminBilling is "admin billing --config FILE --account ID [--price N]
// [--billing prepaid|postpaid] [--credit-limit N] [--prices P=N,...]": what
// the operator sells a customer. A root account's price, billing mode,
// credit limit and price table are the operator's alone (its own
// administrators set those of its sub-accounts): they decide how much money
// the tree can spend.
func adminBilling(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: smsgate admin billing --config FILE --account ID [--price MINOR] [--billing prepaid|postpaid] [--credit-limit MINOR] [--prices PREFIX=MINOR,...]"
	fs := flag.NewFlagSet("admin billing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (for redis)")
	acct := fs.String("account", "", "the account `ID`")
	price := fs.String("price", "", "price per SMS part in `minor` units")
	billing := fs.String("billing", "", "prepaid or postpaid")
	limit := fs.String("credit-limit", "", "postpaid: how far the balance may go below zero, in `minor` units")
	prices := fs.String("prices", "", "the price table, replacing the stored one: `PREFIX=MINOR,...` (\"none\" removes it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgPath == "" || *acct == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	return withStore(*cfgPath, stderr, func(store *redisstore.Store) int {
		return adminBillingRun(ctx, store, *acct, billingChange{Price: *price, Billing: *billing, CreditLimit: *limit, Prices: *prices}, stdout, stderr)
	})
}

// billingChange holds the flags of admin billing; "" means unchanged.
type billingChange struct{ Price, Billing, CreditLimit, Prices string }

// adminBillingRun applies c to account id and prints the result.
func adminBillingRun(ctx context.Context, store *redisstore.Store, id string, c billingChange, stdout, stderr io.Writer) int {
	a, err := store.GetAccount(ctx, id)
	if err != nil {
		fmt.Fprintln(stderr, "smsgate:", err)
		return 1
	}
	minor := func(flag, v string) (int64, bool) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fmt.Fprintf(stderr, "admin billing: --%s %q must be a non-negative integer of minor units\n", flag, v)
			return 0, false
		}
		return n, true
	}
	var ok bool
	if c.Price != "" {
		if a.PricePerPart, ok = minor("price", c.Price); !ok {
			return 2
		}
	}
	if c.Billing != "" {
		if c.Billing != accounts.BillingPrepaid && c.Billing != accounts.BillingPostpaid {
			fmt.Fprintf(stderr, "admin billing: --billing %q must be %s or %s\n", c.Billing, accounts.BillingPrepaid, accounts.BillingPostpaid)
			return 2
		}
		a.Billing = c.Billing
		if a.Billing == accounts.BillingPrepaid && c.CreditLimit == "" {
			a.CreditLimit = 0
		}
	}
	if c.CreditLimit != "" {
		if a.CreditLimit, ok = minor("credit-limit", c.CreditLimit); !ok {
			return 2
		}
	}
	if err := store.UpdateAccount(ctx, a); err != nil {
		fmt.Fprintln(stderr, "smsgate:", err)
		return 1
	}
	if c.Prices != "" {
		table := map[string]int64{}
		if c.Prices != "none" {
			for _, kv := range strings.Split(c.Prices, ",") {
				p, v, found := strings.Cut(strings.TrimSpace(kv), "=")
				n, err := strconv.ParseInt(v, 10, 64)
				if !found || err != nil || n < 0 {
					fmt.Fprintf(stderr, "admin billing: --prices: %q is not PREFIX=MINOR\n", kv)
					return 2
				}
				table[p] = n
			}
		}
		if _, err := store.SetPrices(ctx, a.ID, table); err != nil {
			fmt.Fprintln(stderr, "smsgate:", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "account %s: price %s per part, %s", a.ID, accounts.FormatMoney(a.PricePerPart, a.Currency), a.Billing)
	if a.Billing == accounts.BillingPostpaid {
		fmt.Fprintf(stdout, ", credit limit %s", accounts.FormatMoney(a.CreditLimit, a.Currency))
	}
	fmt.Fprintf(stdout, ", balance %s", accounts.FormatMoney(a.Balance, a.Currency))
	if a.CreditReserved > 0 {
		fmt.Fprintf(stdout, ", %s extended to sub-accounts", accounts.FormatMoney(a.CreditReserved, a.Currency))
	}
	fmt.Fprintln(stdout)
	return 0
}

// adminSenderID is "admin sender-id add|remove --config FILE --account
// ROOTID ID": the operator approves an alphanumeric sender id (a brand the
// customer has shown is theirs) for a parent account, whose administrators
// may then hand it to the account and its sub-accounts.
func adminSenderID(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: smsgate admin sender-id add|remove --config FILE --account ROOTID SENDERID"
	if len(args) == 0 || (args[0] != "add" && args[0] != "remove") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("admin sender-id "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (for redis)")
	acct := fs.String("account", "", "the parent account `ID`")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	if *cfgPath == "" || *acct == "" || len(pos) != 1 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	return withStore(*cfgPath, stderr, func(store *redisstore.Store) int {
		if args[0] == "add" {
			err = store.GrantSenderID(ctx, *acct, pos[0])
		} else {
			err = store.RevokeSenderGrant(ctx, *acct, pos[0])
		}
		switch {
		case err != nil:
			fmt.Fprintln(stderr, "smsgate:", err)
			return 1
		case args[0] == "add":
			fmt.Fprintf(stdout, "sender id %s approved for account %s and its sub-accounts (its administrators assign it: smsgate senderid add)\n", pos[0], *acct)
		default:
			fmt.Fprintf(stdout, "sender id %s no longer approved for account %s (ids assigned already stay until removed)\n", pos[0], *acct)
		}
		return 0
	})
}

// withStore runs f on the account store of the configuration at cfgPath
// (the operator commands that talk to Redis directly) and closes it.
func withStore(cfgPath string, stderr io.Writer, f func(*redisstore.Store) int) int {
	store, closeStore, err := openStore(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer closeStore()
	return f(store)
}

// webhookQuota gives the webhook service each account's webhooks quota.
func webhookQuota(store *redisstore.Store) func(context.Context, string) (int, error) {
	return func(ctx context.Context, id string) (int, error) {
		q, err := store.QuotasOf(ctx, id)
		return int(q.Webhooks), err
	}
}

// adminQuotas is "admin quotas --config FILE --account ROOTID [--contacts
// N ...]": the operator's quotas for a parent account and each of its
// sub-accounts (0: back to the configured default). Without a quota flag
// it prints the quotas in force.
func adminQuotas(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("admin quotas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (for redis)")
	acct := fs.String("account", "", "the parent account `ID`")
	vals := map[string]*int64{}
	accounts.DefaultQuotas().Each(func(name string, _ int64) {
		vals[name] = fs.Int64(strings.ReplaceAll(name, "_", "-"), -1, "the quota of "+strings.ReplaceAll(name, "_", " ")+" per account (0: the default)")
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgPath == "" || *acct == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: smsgate admin quotas --config FILE --account ROOTID [--contacts N] [--groups N] [--templates N] [--keys N] [--webhooks N] [--invitations N] [--automation-rules N] [--inbox N] [--blocked N]")
		return 2
	}
	return withStore(*cfgPath, stderr, func(store *redisstore.Store) int {
		return adminQuotasRun(ctx, store, *acct, vals, stdout, stderr)
	})
}

// adminQuotasRun applies the flags given (>= 0) over the stored overrides.
func adminQuotasRun(ctx context.Context, store *redisstore.Store, id string, vals map[string]*int64, stdout, stderr io.Writer) int {
	a, err := store.GetAccount(ctx, id)
	if err != nil {
		fmt.Fprintln(stderr, "smsgate:", err)
		return 1
	}
	if a.ParentID != "" {
		fmt.Fprintf(stderr, "smsgate: account %s is a sub-account; quotas are set on its parent %s for the whole tree\n", id, a.ParentID)
		return 1
	}
	over, err := store.QuotaOverrides(ctx, id)
	if err != nil {
		fmt.Fprintln(stderr, "smsgate:", err)
		return 1
	}
	set := false
	ov := reflect.ValueOf(&over).Elem()
	for i := range ov.NumField() {
		name, _, _ := strings.Cut(ov.Type().Field(i).Tag.Get("json"), ",")
		if v := vals[name]; v != nil && *v >= 0 {
			ov.Field(i).SetInt(*v)
			set = true
		}
	}
	q, err := store.QuotasOf(ctx, id)
	if set {
		q, err = store.SetQuotas(ctx, id, over)
	}
	if err != nil {
		fmt.Fprintln(stderr, "smsgate:", err)
		return 1
	}
	fmt.Fprintf(stdout, "quotas of account %s and each of its sub-accounts:\n", id)
	q.Each(func(name string, v int64) { fmt.Fprintf(stdout, "  %-17s %d\n", name, v) })
	return 0
}

// adminLedger is "admin ledger compact --config FILE --account ID --before
// DATE --actor NAME": the entries of an account's ledger before DATE (UTC,
// 2006-01-02) become one opening-balance entry signed off by NAME, with the
// SHA-1 of what it replaced; the ledger still sums to the balance.
func adminLedger(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: smsgate admin ledger compact --config FILE --account ID --before YYYY-MM-DD --actor NAME"
	if len(args) == 0 || args[0] != "compact" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("admin ledger compact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (for redis)")
	acct := fs.String("account", "", "the account `ID`")
	before := fs.String("before", "", "compact the entries before this `DATE` (UTC, YYYY-MM-DD)")
	actor := fs.String("actor", "", "who signs the opening balance off (recorded in the entry)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *cfgPath == "" || *acct == "" || *before == "" || *actor == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	cut, err := time.Parse("2006-01-02", *before)
	if err != nil {
		fmt.Fprintf(stderr, "admin ledger compact: --before %q is not a date like 2026-01-31\n", *before)
		return 2
	}
	return withStore(*cfgPath, stderr, func(store *redisstore.Store) int {
		n, sum, err := store.CompactLedger(ctx, *acct, cut, *actor)
		if err != nil {
			fmt.Fprintln(stderr, "smsgate:", err)
			return 1
		}
		if n == 0 {
			fmt.Fprintf(stdout, "nothing to compact: account %s has fewer than two ledger entries before %s\n", *acct, *before)
			return 0
		}
		fmt.Fprintf(stdout, "compacted %d ledger entries of account %s before %s into an opening balance of %d (minor units), signed off by %s\n",
			n, *acct, *before, sum, *actor)
		return 0
	})
}
