package api

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// hidesPricing reports whether p's answers hide money: p is a member of a
// sub-account with hide_pricing in force (seed 002 "Hides pricing and
// account balances"). The parent's administrators always see it.
func hidesPricing(p principal) bool { return p.acct.HidesPricing() }

// moneyKeys are the JSON members that carry money: balances, prices,
// credit, costs, amounts and spend caps. Under hide_pricing every answer of
// every route goes without them (pricingWriter); the routes whose answer is
// money and nothing else (the price table, the ledger) are refused instead
// (the hidePricing column of the rule table).
var moneyKeys = map[string]bool{
	"balance": true, "price": true, "price_per_part": true, "credit_limit": true, "credit_reserved": true,
	"auto_recharge": true, "low_balance_threshold": true, "cost": true, "amount": true,
	"spend_per_day": true, "need": true, "have": true, "recharged": true, "prices": true,
}

// pricingWriter marks the response writer of a caller under hide_pricing:
// writeJSON removes the money members from what it writes through it.
type pricingWriter struct{ http.ResponseWriter }

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *pricingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withoutMoney returns the JSON document data without its money members,
// at any depth.
func withoutMoney(data []byte) []byte {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return data
	}
	var strip func(any) any
	strip = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if moneyKeys[k] {
					delete(x, k)
					continue
				}
				x[k] = strip(e)
			}
		case []any:
			for i := range x {
				x[i] = strip(x[i])
			}
		}
		return v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(strip(v)); err != nil {
		return data
	}
	return buf.Bytes()
}
