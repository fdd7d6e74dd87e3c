package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/smsgate/smsgate/accounts"
)

// cliBillingCommands are the commands of money and the account lifecycle:
// rename, money settings, delete, prices per prefix, top-up and the ledger
// export.
func cliBillingCommands() map[string]command {
	return map[string]command{
		"account rename": {"ID NAME", accountRename},
		"account set": {"ID [--billing prepaid|postpaid] [--credit-limit N] [--auto-recharge-threshold N] " +
			"[--auto-recharge-amount N] [--low-balance N]", accountSet},
		"account delete": {"ID", byID("DELETE", "/v1/accounts/", "", printDeleted)},
		"price list":     {"--account ID", ofAccount("/prices", false, printPrices)},
		"price set":      {"--account ID PREFIX PRICE", priceEdit(true)},
		"price remove":   {"--account ID PREFIX", priceEdit(false)},
		"balance topup":  {"--account ID AMOUNT [--ref R]", transfer("topup", "top-up")},
		"balance export": {"--account ID  (CSV on standard output)", ledgerExport},
	}
}

// printBilling prints an account with its money settings.
func printBilling(w io.Writer, a accounts.Account) {
	printAccount(w, a)
	fmt.Fprintf(w, "billing\t%s\n", a.Billing)
	if a.Billing == accounts.BillingPostpaid {
		fmt.Fprintf(w, "credit_limit\t%s\n", accounts.FormatMoney(a.CreditLimit, a.Currency))
	}
	if a.AutoRecharge.Amount > 0 {
		fmt.Fprintf(w, "auto_recharge\t%s when below %s\n", accounts.FormatMoney(a.AutoRecharge.Amount, a.Currency),
			accounts.FormatMoney(a.AutoRecharge.Threshold, a.Currency))
	}
	if a.LowBalance > 0 {
		fmt.Fprintf(w, "low_balance\t%s\n", accounts.FormatMoney(a.LowBalance, a.Currency))
	}
}

func accountRename(*flag.FlagSet) runFunc {
	return func(ctx context.Context, c *client, args []string) error {
		if err := need(args, 2, "ID and NAME"); err != nil {
			return err
		}
		return call(ctx, c, "PATCH", "/v1/accounts/"+esc(args[0]), map[string]string{"name": args[1]}, printBilling)
	}
}

// accountSet changes the money settings given as flags (PATCH; the
// parent's administrators). Setting one half of auto-recharge keeps the
// Other half as stored.
func accountSet(fs *flag.FlagSet) runFunc {
	billing := fs.String("billing", "", "`mode`: prepaid or postpaid")
	nums := map[string]*int64{
		"credit-limit":            fs.Int64("credit-limit", 0, "postpaid credit limit in `minor` units"),
		"auto-recharge-threshold": fs.Int64("auto-recharge-threshold", 0, "recharge from the parent when a send leaves the balance below `minor` units"),
		"auto-recharge-amount":    fs.Int64("auto-recharge-amount", 0, "`minor` units moved per recharge (0: off)"),
		"low-balance":             fs.Int64("low-balance", 0, "low_balance event below `minor` units (0: off)"),
	}
	return func(ctx context.Context, c *client, args []string) error {
		if err := need(args, 1, "ID"); err != nil {
			return err
		}
		body := map[string]any{}
		recharge := map[string]*int64{}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "billing":
				body["billing"] = *billing
			case "credit-limit":
				body["credit_limit"] = *nums[f.Name]
			case "low-balance":
				body["low_balance_threshold"] = *nums[f.Name]
			case "auto-recharge-threshold", "auto-recharge-amount":
				recharge[f.Name] = nums[f.Name]
			}
		})
		if len(recharge) > 0 {
			cur, err := c.api.Do(ctx, "GET", "/v1/accounts/"+esc(args[0]), nil)
			if err != nil {
				return err
			}
			var a accounts.Account
			if err := json.Unmarshal(cur, &a); err != nil {
				return fmt.Errorf("decode account %s: %w", args[0], err)
			}
			ar := a.AutoRecharge
			if v, ok := recharge["auto-recharge-threshold"]; ok {
				ar.Threshold = *v
			}
			if v, ok := recharge["auto-recharge-amount"]; ok {
				ar.Amount = *v
			}
			body["auto_recharge"] = ar
		}
		if len(body) == 0 {
			return usagef("nothing to set: give at least one of --billing, --credit-limit, --auto-recharge-threshold, --auto-recharge-amount, --low-balance")
		}
		return call(ctx, c, "PATCH", "/v1/accounts/"+esc(args[0]), body, printBilling)
	}
}

func printDeleted(w io.Writer, r accounts.DeleteResult) {
	fmt.Fprintf(w, "account %s deleted\n", r.AccountID)
	switch {
	case r.Returned > 0:
		fmt.Fprintf(w, "balance of %s returned to %s\n", accounts.FormatMoney(r.Returned, r.Currency), r.ParentID)
	case r.Returned < 0:
		fmt.Fprintf(w, "debt of %s settled by %s\n", accounts.FormatMoney(-r.Returned, r.Currency), r.ParentID)
	}
	for _, d := range r.Domains {
		fmt.Fprintf(w, "domain %s released\n", d)
	}
	for _, a := range r.Addresses {
		fmt.Fprintf(w, "address %s released\n", a)
	}
	fmt.Fprintf(w, "%d API keys revoked\n", len(r.Keys))
}

func printPrices(w io.Writer, t accounts.PriceTable) {
	fmt.Fprintln(w, "PREFIX\tPRICE PER PART")
	fmt.Fprintf(w, "(default)\t%s\n", accounts.FormatMoney(t.Default, t.Currency))
	for _, p := range slices.Sorted(maps.Keys(t.Prefixes)) {
		fmt.Fprintf(w, "%s\t%s\n", p, accounts.FormatMoney(t.Prefixes[p], t.Currency))
	}
}

// priceEdit is "price set" (set) and "price remove": read the table, change
// one prefix, write the table back.
func priceEdit(set bool) func(*flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		acct := accountFlag(fs)
		return func(ctx context.Context, c *client, args []string) error {
			id, err := acct()
			if err == nil && set {
				err = need(args, 2, "PREFIX and PRICE")
			} else if err == nil {
				err = need(args, 1, "PREFIX")
			}
			if err != nil {
				return err
			}
			var price int64
			if set {
				if price, err = strconv.ParseInt(args[1], 10, 64); err != nil || price < 0 {
					return usagef("PRICE %q must be a whole number of minor units per part", args[1])
				}
			}
			path := "/v1/accounts/" + esc(id) + "/prices"
			data, err := c.api.Do(ctx, "GET", path, nil)
			if err != nil {
				return err
			}
			var t accounts.PriceTable
			if err := json.Unmarshal(data, &t); err != nil {
				return fmt.Errorf("decode prices of %s: %w", id, err)
			}
			if t.Prefixes == nil {
				t.Prefixes = map[string]int64{}
			}
			if set {
				t.Prefixes[args[0]] = price
			} else if _, ok := t.Prefixes[args[0]]; !ok {
				return fmt.Errorf("account %s has no price for prefix %s", id, args[0])
			} else {
				delete(t.Prefixes, args[0])
			}
			return call(ctx, c, "PUT", path, map[string]any{"prefixes": t.Prefixes}, printPrices)
		}
	}
}

// ledgerExport writes the ledger CSV as the API sends it.
var ledgerExport = withAccount(0, "", func(ctx context.Context, c *client, id string, args []string) error {
	data, err := c.api.Do(ctx, "GET", "/v1/accounts/"+esc(id)+"/ledger.csv", nil)
	if err != nil {
		return err
	}
	_, err = c.out.Write(data)
	return err
})
