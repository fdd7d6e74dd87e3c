package accounts

import (
	"errors"
	"time"
)

// Status is an account's state. Deactivated accounts keep all their data.
type Status string

// Account states.
const (
	StatusActive      Status = "active"
	StatusDeactivated Status = "deactivated"
)

// Role is what an API key or user may do within an account (seed 000).
type Role string

// Roles, from most to least powerful.
const (
	RoleParentAdmin Role = "parent_admin"
	RoleSubAdmin    Role = "sub_admin"
	RoleAdvanced    Role = "advanced"
	RoleBasic       Role = "basic"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool {
	switch r {
	case RoleParentAdmin, RoleSubAdmin, RoleAdvanced, RoleBasic:
		return true
	}
	return false
}

// Long-message policies: what happens when a text needs more parts than
// Account.MaxParts.
const (
	LongReject   = "reject"
	LongTruncate = "truncate"
)

// Subject policies: whether the mail subject becomes part of the SMS text.
const (
	SubjectIgnore  = "ignore"
	SubjectPrepend = "prepend"
)

// Account is a parent account (ParentID empty) or a sub-account.
type Account struct {
	ID             string    `json:"id"`
	ParentID       string    `json:"parent_id,omitempty"`
	Name           string    `json:"name"`
	ContactEmail   string    `json:"contact_email,omitempty"`
	Status         Status    `json:"status"`
	DefaultCountry string    `json:"default_country"` // ISO 3166-1 alpha-2, e.g. "AU"
	PricePerPart   int64     `json:"price_per_part"`  // minor units per SMS part
	Currency       string    `json:"currency"`
	MaxParts       int       `json:"max_parts"`           // parts per message; 0 means the default (10)
	LongMessage    string    `json:"long_message"`        // LongReject or LongTruncate
	SubjectMode    string    `json:"subject_mode"`        // SubjectIgnore or SubjectPrepend
	SenderID       string    `json:"sender_id,omitempty"` // source address; empty means the link's default
	Balance        int64     `json:"balance"`             // minor units; read-only, changed only through the ledger
	CreatedAt      time.Time `json:"created_at"`

	// Billing is BillingPrepaid (the balance may not go below zero) or
	// BillingPostpaid (it may go down to -CreditLimit).
	Billing     string `json:"billing"`
	CreditLimit int64  `json:"credit_limit"` // postpaid only, minor units, >= 0
	// AutoRecharge moves Amount from the parent when a debit leaves the
	// balance below Threshold, in the same atomic step (seed 004). Zero
	// Amount: off.
	AutoRecharge AutoRecharge `json:"auto_recharge"`
	// LowBalance: a low_balance webhook event fires when a debit takes the
	// balance below it. Zero: off.
	LowBalance int64 `json:"low_balance_threshold"`
	// Permissions are the sub-account's permission flags (seeds 002, 003),
	// set by the parent's administrators. Root accounts have every flag.
	Permissions Permissions `json:"permissions"`
}

// Billing modes.
const (
	BillingPrepaid  = "prepaid"
	BillingPostpaid = "postpaid"
)

// AutoRecharge tops a sub-account up from its parent when it runs low.
type AutoRecharge struct {
	Threshold int64 `json:"threshold"`
	Amount    int64 `json:"amount"`
}

// Permissions of a sub-account: Granted is the ceiling the parent's
// administrators set; Enabled is what is in force, always within Granted (a
// sub-account with modify_users may switch flags within Granted, never beyond:
// seed 002's trap is closed). Both are sorted flag names (see flags.go).
type Permissions struct {
	Granted []string `json:"granted"`
	Enabled []string `json:"enabled"`
}

// Sender is the result of resolving a MAIL FROM address.
type Sender struct {
	Account *Account
	Address string // the sender's address, lower-cased
	Match   string // "address" or "domain": which registration matched
}

// APIKey describes a key; the secret itself is never stored, only its hash.
// A key is either the account's (UserID empty) or a user's: then its Role is
// the user's current role in the account, re-read at every authentication,
// so removing a member or changing their role takes effect at once.
type APIKey struct {
	ID        string    `json:"id"` // public id, also the key's visible prefix
	AccountID string    `json:"account_id"`
	Role      Role      `json:"role"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UserID    string    `json:"user_id,omitempty"`
	UserEmail string    `json:"user_email,omitempty"` // the user's email: their messages are those they sent
	ExpiresAt time.Time `json:"expires_at,omitzero"`  // zero: never (login sessions expire)
}

// LedgerEntry is one balance change. Amount is signed; Balance is the balance
// after the change. The entries of an account sum to its balance.
type LedgerEntry struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Amount    int64     `json:"amount"`
	Balance   int64     `json:"balance"`
	Kind      string    `json:"kind"` // credit, debit, send, refund
	Ref       string    `json:"ref,omitempty"`
	Actor     string    `json:"actor,omitempty"`
	At        time.Time `json:"at"`
}

// MessageStatus is where a message is in its life.
type MessageStatus string

// Message states. Queued and submitted are in flight; the rest are final.
const (
	MsgQueued        MessageStatus = "queued"
	MsgSubmitted     MessageStatus = "submitted"
	MsgDelivered     MessageStatus = "delivered"
	MsgUndeliverable MessageStatus = "undeliverable"
	MsgExpired       MessageStatus = "expired"
	MsgRejected      MessageStatus = "rejected"
	MsgFailed        MessageStatus = "failed"
	// MsgBlocked: never sent nor charged, the recipient had opted out
	// (optout.go); the record is in the account's blocked log.
	MsgBlocked MessageStatus = "blocked"
)

// Final reports whether a message in status st is done: nothing changes
// its status any more (receipts may still count delivered parts).
func (st MessageStatus) Final() bool {
	return st != MsgQueued && st != MsgSubmitted
}

// Message is one SMS to one recipient (it may travel as several parts).
type Message struct {
	ID          string        `json:"id"`
	AccountID   string        `json:"account_id"`
	Sender      string        `json:"sender"`            // the email address that sent it
	MailID      string        `json:"mail_id,omitempty"` // the email's Message-ID
	Source      string        `json:"source,omitempty"`  // our number or sender id
	To          string        `json:"to"`                // E.164 without '+'
	Text        string        `json:"text"`
	Coding      uint8         `json:"coding"` // SMPP data_coding: 0 GSM 03.38, 8 UCS-2
	Parts       int           `json:"parts"`
	Price       int64         `json:"price"` // total, minor units
	Status      MessageStatus `json:"status"`
	Link        string        `json:"link,omitempty"`
	SMSCID      string        `json:"smsc_id,omitempty"`
	Error       string        `json:"error,omitempty"`
	Attempts    int           `json:"attempts"`
	CreatedAt   time.Time     `json:"created_at"`
	SubmittedAt time.Time     `json:"submitted_at,omitzero"`
	DoneAt      time.Time     `json:"done_at,omitzero"`
}

// Reply is an inbound SMS (MO) routed to an account's inbox.
type Reply struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"account_id"`           // empty when unrouted
	MessageID  string    `json:"message_id,omitempty"` // the message it answers
	Sender     string    `json:"sender,omitempty"`     // email of the original sender
	From       string    `json:"from"`                 // their number
	To         string    `json:"to"`                   // our number
	Text       string    `json:"text"`
	Link       string    `json:"link,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	// ReadAt and ArchivedAt are the inbox state (SetReplyState); zero:
	// unread, not archived.
	ReadAt     time.Time `json:"read_at,omitzero"`
	ArchivedAt time.Time `json:"archived_at,omitzero"`
}

// Errors, tested with errors.Is.
var (
	ErrNotFound            = errors.New("not found")
	ErrUnknownSender       = errors.New("sender is not registered for email to SMS")
	ErrDeactivated         = errors.New("account is deactivated")
	ErrInsufficientBalance = errors.New("insufficient balance")
	ErrDomainTaken         = errors.New("domain is already registered to another account")
	ErrAddressTaken        = errors.New("address is already registered to another account")
	ErrPublicDomain        = errors.New("public mail domains cannot be registered")
	ErrAlreadyBootstrapped = errors.New("already bootstrapped")
	ErrInvalid             = errors.New("invalid")
	ErrBadKey              = errors.New("invalid or revoked API key")
	// ErrNotPermitted: the caller or account lacks a permission flag or
	// right; the error text names it.
	ErrNotPermitted = errors.New("not permitted")
)
