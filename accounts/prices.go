package accounts

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// maxPricePrefixes bounds one account's price table.
const maxPricePrefixes = 5000

var (
	//go:embed lua/money_prices.lua
	moneyPricesLua    string
	moneyPricesScript = redis.NewScript(moneyPricesLua)
)

// PriceTable is what an account pays per SMS part: Default (the account's
// PricePerPart) unless a prefix of the destination number has its own
// price, the longest such prefix winning. It is stored at
// P:{sN}:prices:<acct> (a hash prefix -> minor units per part) and read by
// the accept script itself, so a price change applies from the next mail.
type PriceTable struct {
	AccountID string           `json:"account_id"`
	Currency  string           `json:"currency"`
	Default   int64            `json:"default"`  // minor units per part
	Prefixes  map[string]int64 `json:"prefixes"` // E.164 prefix (digits) -> minor units per part
}

// For returns the price per part of a number (E.164 digits without '+').
func (t *PriceTable) For(number string) int64 {
	for l := min(len(number), 15); l > 0; l-- {
		if p, ok := t.Prefixes[number[:l]]; ok {
			return p
		}
	}
	return t.Default
}

// Prices returns an account's price table. ErrNotFound for an unknown or
// deleted account.
func (s *Store) Prices(ctx context.Context, accountID string) (*PriceTable, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	shard, _ := s.shardFromID(accountID)
	h, err := s.rdb.HGetAll(ctx, s.skey(shard, "prices", accountID)).Result()
	if err != nil {
		return nil, fmt.Errorf("prices of %s: %w", accountID, err)
	}
	t := &PriceTable{AccountID: a.ID, Currency: a.Currency, Default: a.PricePerPart, Prefixes: make(map[string]int64, len(h))}
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
func (s *Store) SetPrices(ctx context.Context, accountID string, prefixes map[string]int64) (*PriceTable, error) {
	if len(prefixes) > maxPricePrefixes {
		return nil, acctInvalid("prefixes: %d entries, at most %d", len(prefixes), maxPricePrefixes)
	}
	args := make([]any, 0, 2*len(prefixes))
	for _, p := range slices.Sorted(maps.Keys(prefixes)) {
		price := prefixes[p]
		if err := priceCheck(p, price); err != nil {
			return nil, err
		}
		args = append(args, p, strconv.FormatInt(price, 10))
	}
	key, err := s.acctKey(accountID)
	if err != nil {
		return nil, fmt.Errorf("set prices: %w", err)
	}
	shard, _ := s.shardFromID(accountID)
	ok, err := moneyPricesScript.Run(ctx, s.rdb, []string{key, s.skey(shard, "prices", accountID)}, args...).Int()
	if err != nil {
		return nil, fmt.Errorf("set prices of %s: %w", accountID, err)
	}
	if ok == 0 {
		return nil, fmt.Errorf("set prices: account %q: %w", accountID, ErrNotFound)
	}
	return s.Prices(ctx, accountID)
}

// priceCheck validates one prefix and its price.
func priceCheck(prefix string, price int64) error {
	if prefix == "" || len(prefix) > 15 || strings.Trim(prefix, "0123456789") != "" {
		return acctInvalid("prefixes: %q is not 1 to 15 digits of an E.164 number (no '+')", prefix)
	}
	if price < 0 || price > moneyMaxAmount {
		return acctInvalid("prefixes.%s: price %d is not between 0 and %d", prefix, price, int64(moneyMaxAmount))
	}
	return nil
}
