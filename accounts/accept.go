package accounts

import (
	_ "embed"
)

// AcceptRequest is one atomic acceptance: the messages of one email to one
// or more recipients, all charged to one account.
type AcceptRequest struct {
	AccountID string
	// IdempotencyKey names the request, e.g. sender + Message-ID; a replay
	// within 24 hours returns the first ids and charges nothing. Empty means
	// no idempotency.
	IdempotencyKey string
	// Messages carry To, Text, Coding, Parts, Price, Sender, MailID and
	// Source, set by the caller. On success Accept fills in ID, AccountID,
	// Status and CreatedAt.
	Messages []*Message
	// SkipOptOut sends even to numbers on the account's opt-out list: only
	// for the Stop rule's confirmation to the number that has just opted
	// out (router/stop.go). Everything else is checked (optout.go).
	SkipOptOut bool
}

// AcceptResult says what Accept did.
type AcceptResult struct {
	IDs       []string // message ids, in request order
	Duplicate bool     // the idempotency key was seen: nothing was charged or queued
	Balance   int64    // the account's balance afterwards
	// LowBalance: this debit took the balance from at or above the
	// account's LowBalance threshold to below it; the caller fires the
	// low_balance event. Never set on a duplicate.
	LowBalance bool
	// Recharged is what auto-recharge moved from the parent in the same
	// step (minor units), 0 if none.
	Recharged int64
	// Blocked are the recipients on the account's opt-out list (optout.go):
	// not queued, not charged, recorded with status MsgBlocked in the
	// blocked log; IDs has only the others. Never set on a duplicate.
	Blocked []string
}
