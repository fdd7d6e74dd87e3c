package messages

import (
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// limitError reads a {'limit', name, limit, used, wanted, retry ms, sender,
// currency} reply of accept.lua. The windows are fixed: a UTC clock minute
// for the per-sender rate, a UTC day (as the daily statistics) for parts
// and spend; accounts have no time zone of their own.
func limitError(res []any) *accounts.LimitError {
	name, _ := res[1].(string)
	sender, _ := res[6].(string)
	cur, _ := res[7].(string)
	return &accounts.LimitError{Limit: name, Max: acceptInt(res, 2), Used: acceptInt(res, 3), Want: acceptInt(res, 4),
		RetryAfter: time.Duration(acceptInt(res, 5)) * time.Millisecond, Sender: sender, Currency: cur}
}
