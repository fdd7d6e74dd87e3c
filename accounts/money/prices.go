package money

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

// maxPricePrefixes bounds one account's price table.
const maxPricePrefixes = 5000

var (
	//go:embed lua/money_prices.lua
	moneyPricesLua    string
	moneyPricesScript = store.NewScript("money/money_prices.lua", moneyPricesLua)
)

// Prices returns an account's price table. ErrNotFound for an unknown or
// deleted account.
func (s *Store) Prices(ctx context.Context, accountID string) (*accounts.PriceTable, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	shard, _ := s.ShardFromID(accountID)
	h, err := s.RDB.HGetAll(ctx, s.Keys.Prices(shard, accountID)).Result()
	if err != nil {
		return nil, fmt.Errorf("prices of %s: %w", accountID, err)
	}
	t := &accounts.PriceTable{AccountID: a.ID, Currency: a.Currency, Default: a.PricePerPart, Prefixes: make(map[string]int64, len(h))}
	for k, v := range h {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("prices of %s: prefix %s: %w", accountID, k, err)
		}
		t.Prefixes[k] = n
	}
	return t, nil
}

// SetPrices replaces an account's prefix prices (an empty map removes them
// all) in one Lua script, which also flags the account hash ("prices") so
// that the accept script looks the table up only when there is one, and
// returns the new table. A prefix is 1 to 15
// digits (an E.164 number's leading digits, no '+'); a price is 0 to the
// money maximum. Problems are ErrInvalid naming the prefix.
func (s *Store) SetPrices(ctx context.Context, accountID string, prefixes map[string]int64) (*accounts.PriceTable, error) {
	if len(prefixes) > maxPricePrefixes {
		return nil, accounts.Invalidf("prefixes: %d entries, at most %d", len(prefixes), maxPricePrefixes)
	}
	args := make([]any, 0, 2*len(prefixes))
	for _, p := range slices.Sorted(maps.Keys(prefixes)) {
		price := prefixes[p]
		if err := priceCheck(p, price); err != nil {
			return nil, err
		}
		args = append(args, p, strconv.FormatInt(price, 10))
	}
	key, err := s.AcctKey(accountID)
	if err != nil {
		return nil, fmt.Errorf("set prices: %w", err)
	}
	shard, _ := s.ShardFromID(accountID)
	ok, err := s.Run(ctx, moneyPricesScript, []string{key, s.Keys.Prices(shard, accountID)}, args...).Int()
	if err != nil {
		return nil, fmt.Errorf("set prices of %s: %w", accountID, err)
	}
	if ok == 0 {
		return nil, fmt.Errorf("set prices: account %q: %w", accountID, accounts.ErrNotFound)
	}
	return s.Prices(ctx, accountID)
}

// priceCheck validates one prefix and its price.
func priceCheck(prefix string, price int64) error {
	if prefix == "" || len(prefix) > 15 || strings.Trim(prefix, "0123456789") != "" {
		return accounts.Invalidf("prefixes: %q is not 1 to 15 digits of an E.164 number (no '+')", prefix)
	}
	if price < 0 || price > accounts.MaxAmount {
		return accounts.Invalidf("prefixes.%s: price %d is not between 0 and %d", prefix, price, int64(accounts.MaxAmount))
	}
	return nil
}
