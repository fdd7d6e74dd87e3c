package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/smsgate/smsgate/accounts"
)

// cliLimitsCommands read and set an account's sending limits
// (/v1/accounts/{id}/limits).
func cliLimitsCommands() map[string]command {
	return map[string]command{
		"limits get": {"--account ID", ofAccount("/limits", false, printLimits)},
		"limits set": {"--account ID [--per-minute N] [--parts-per-day N] [--spend-per-day MINOR]  (0: unlimited)", limitsSet},
	}
}

// printLimits prints one limit a line, "unlimited" for 0.
func printLimits(w io.Writer, l accounts.Limits) {
	show := func(v int64, unit string) string {
		if v == 0 {
			return "unlimited"
		}
		return strconv.FormatInt(v, 10) + unit
	}
	fmt.Fprintf(w, "per_minute\t%s\n", show(l.PerMinute, " messages per sender per minute"))
	fmt.Fprintf(w, "parts_per_day\t%s\n", show(l.PartsPerDay, " SMS parts per UTC day"))
	fmt.Fprintf(w, "spend_per_day\t%s\n", show(l.SpendPerDay, " minor units per UTC day"))
}

// limitsSet changes the limits given as flags and keeps the others (GET,
// then PUT of the whole set).
func limitsSet(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	perMinute := fs.Int64("per-minute", 0, "messages per sender per UTC minute (`N`, 0: unlimited)")
	parts := fs.Int64("parts-per-day", 0, "SMS parts per UTC day (`N`, 0: unlimited)")
	spend := fs.Int64("spend-per-day", 0, "spend per UTC day in `minor` units (0: unlimited)")
	return func(ctx context.Context, c *client, args []string) error {
		id, err := acct()
		if err != nil {
			return err
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["per-minute"] && !set["parts-per-day"] && !set["spend-per-day"] {
			return usagef("give at least one of --per-minute, --parts-per-day, --spend-per-day")
		}
		path := "/v1/accounts/" + esc(id) + "/limits"
		data, err := c.api.Do(ctx, "GET", path, nil)
		if err != nil {
			return err
		}
		var l accounts.Limits
		if err := json.Unmarshal(data, &l); err != nil {
			return fmt.Errorf("decode limits of %s: %w", id, err)
		}
		if set["per-minute"] {
			l.PerMinute = *perMinute
		}
		if set["parts-per-day"] {
			l.PartsPerDay = *parts
		}
		if set["spend-per-day"] {
			l.SpendPerDay = *spend
		}
		return call(ctx, c, "PUT", path, l, printLimits)
	}
}
