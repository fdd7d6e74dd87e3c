package accounts

import (
	"errors"
	"fmt"
	"time"
)

// Limits are an account's sending limits, enforced in the accept script
// (accounts/messages) atomically with the charge and shared by every
// instance through Redis. 0 means unlimited, which is also each limit's
// default: a new account is bounded only by its balance until its parent's
// administrators (or a root's own) set limits.
type Limits struct {
	// PerMinute is the most messages (recipients) one sender, the MAIL FROM
	// address or the API key's user, may send per UTC clock minute (a fixed
	// window).
	PerMinute int64 `json:"per_minute"`
	// PartsPerDay is the most SMS parts the account may send per UTC day.
	PartsPerDay int64 `json:"parts_per_day"`
	// SpendPerDay is the most the account may be charged for sends per UTC
	// day, in minor units of its currency.
	SpendPerDay int64 `json:"spend_per_day"`
}

// MaxLimit bounds every limit (far above anything a gateway sends).
const MaxLimit = 1_000_000_000_000

// Validate names the field of the first bad limit.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"per_minute", l.PerMinute}, {"parts_per_day", l.PartsPerDay}, {"spend_per_day", l.SpendPerDay}} {
		if f.v < 0 || f.v > MaxLimit {
			return fmt.Errorf("%s: %d must be between 0 (unlimited) and %d: %w", f.name, f.v, int64(MaxLimit), ErrInvalid)
		}
	}
	return nil
}

// The limits a LimitError can name.
const (
	LimitPerMinute   = "per_minute"
	LimitPartsPerDay = "parts_per_day"
	LimitSpendPerDay = "spend_per_day"
)

// ErrLimitExceeded matches every *LimitError.
var ErrLimitExceeded = errors.New("sending limit reached")

// LimitError reports a send refused by one of the account's limits: nothing
// was charged and nothing counted.
type LimitError struct {
	Limit  string // LimitPerMinute, LimitPartsPerDay or LimitSpendPerDay
	Max    int64  // the limit's value
	Used   int64  // counted in the current window before this send
	Want   int64  // what this send would have added
	Sender string // the sender, for LimitPerMinute
	// Currency of a spend limit.
	Currency string
	// RetryAfter is the time until the window rolls over.
	RetryAfter time.Duration
}

// Error names the limit, its value and when it resets, e.g. "sending limit
// reached: 10 messages per minute for sender a@b.example; retry in 23s".
func (e *LimitError) Error() string {
	retry := e.RetryAfter.Round(time.Second)
	if retry < time.Second {
		retry = time.Second
	}
	switch {
	case e.Never() && e.Limit == LimitPerMinute:
		return fmt.Sprintf("sending limit: this mail has %d messages, more than the %d messages per minute allowed for sender %s; split it into smaller mails",
			e.Want, e.Max, e.Sender)
	case e.Never() && e.Limit == LimitPartsPerDay:
		return fmt.Sprintf("daily limit: this mail needs %d SMS parts, more than the account's %d per day", e.Want, e.Max)
	case e.Never() && e.Limit == LimitSpendPerDay:
		return fmt.Sprintf("daily spend cap: this mail costs %s, more than the account's cap of %s per day",
			FormatMoney(e.Want, e.Currency), FormatMoney(e.Max, e.Currency))
	}
	switch e.Limit {
	case LimitPerMinute:
		return fmt.Sprintf("sending limit reached: %d messages per minute for sender %s (sent %d this minute, this mail has %d); retry in %s",
			e.Max, e.Sender, e.Used, e.Want, retry)
	case LimitPartsPerDay:
		return fmt.Sprintf("daily limit reached: %d SMS parts per day (UTC) for the account (sent %d today, this mail needs %d); resets in %s",
			e.Max, e.Used, e.Want, retry)
	case LimitSpendPerDay:
		return fmt.Sprintf("daily spend cap reached: %s per day (UTC) for the account (spent %s today, this mail costs %s); resets in %s",
			FormatMoney(e.Max, e.Currency), FormatMoney(e.Used, e.Currency), FormatMoney(e.Want, e.Currency), retry)
	}
	return fmt.Sprintf("sending limit %s reached (%d)", e.Limit, e.Max)
}

// Never reports a send larger than the limit itself: no window will let it
// through, so retrying is pointless.
func (e *LimitError) Never() bool { return e.Want > e.Max }

// Is makes errors.Is(err, ErrLimitExceeded) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimitExceeded }

// RetrySeconds is RetryAfter in whole seconds, at least 1: the value of a
// Retry-After header.
func (e *LimitError) RetrySeconds() int64 {
	s := int64((e.RetryAfter + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
