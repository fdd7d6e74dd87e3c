// Package accounts is the domain of smsgate's account model: parent accounts
// and their sub-accounts, users and roles, permission flags, API keys, money
// (integer minor units and the ledger entries that always sum to a balance),
// messages, replies, contacts and groups, opt-outs, templates and automation
// rules. It holds the types, their validation and the sentinel errors that
// callers test with errors.Is; it imports no Redis. The Redis store that keeps
// all of it lives in the packages below accounts/ (see redisstore).
package accounts

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	// CreditReserved is the credit a root extends to its sub-accounts: the
	// sum of their credit limits, held out of its own balance and credit
	// limit (read-only; the operator's grant bounds a tree's credit).
	CreditReserved int64 `json:"credit_reserved,omitempty"`
	// AutoRecharge moves Amount from the parent when a debit leaves the
	// balance below Threshold, in the same atomic step (seed 004). Zero
	// Amount: off.
	AutoRecharge AutoRecharge `json:"auto_recharge"`
	// LowBalance: a low_balance webhook event fires when a debit takes the
	// balance below it. Zero: off.
	LowBalance int64 `json:"low_balance_threshold"`
	// Permissions are the sub-account's permission flags (seeds 002, 003),
	// Set by the parent's administrators. Root accounts have every flag.
	Permissions Permissions `json:"permissions"`
	// SenderPolicy is the account's own sender policy (policy.go); nil:
	// its parent's, else the default. Served at /v1/accounts/{id}/sender-policy.
	SenderPolicy *SenderPolicy `json:"-"`
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
	// Policy is the sender policy in force for Account (its own, its
	// parent's or the default), filled by the resolver.
	Policy PolicyView
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
	// Scope limits what the key may do: "" the API (by its role),
	// ScopeSMTPRelay SMTP AUTH only, for the account and its sub-accounts.
	Scope string `json:"scope,omitempty"`
	// CreatedBy is who created an account key; nil: the operator
	// (bootstrap, admin commands).
	CreatedBy *KeyCreator `json:"created_by,omitempty"`
	// LastUsedAt is when the key last authenticated (to the minute).
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// KeyCreator is who created an account API key: the user whose membership
// allowed it and the key they called with. A key created with an account
// key that a user created is that user's too, so removing the user revokes
// both; a key created with an operator-made key has no user and outlives
// every member.
type KeyCreator struct {
	UserID    string `json:"user_id,omitempty"`
	UserEmail string `json:"user_email,omitempty"`
	// AccountID is the account of the membership (and of the calling key):
	// removing the user from it revokes the key.
	AccountID string `json:"account_id,omitempty"`
	KeyID     string `json:"key_id,omitempty"` // the key the request came with
}

// CreatorOf is the creator recorded for a key made by a request with key k:
// k's user, or for an account key the user who created it (if any).
func CreatorOf(k *APIKey) KeyCreator {
	c := KeyCreator{KeyID: k.ID, AccountID: k.AccountID}
	switch {
	case k.UserID != "":
		c.UserID, c.UserEmail = k.UserID, k.UserEmail
	case k.CreatedBy != nil && k.CreatedBy.UserID != "":
		c.UserID, c.UserEmail, c.AccountID = k.CreatedBy.UserID, k.CreatedBy.UserEmail, k.CreatedBy.AccountID
	}
	return c
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
	// (accounts/rules); the record is in the account's blocked log.
	MsgBlocked MessageStatus = "blocked"
)

// Final reports whether a message in status st is done: nothing changes
// its status any more (receipts may still count delivered parts).
func (st MessageStatus) Final() bool {
	return st != MsgQueued && st != MsgSubmitted
}

// Message is one SMS to one recipient (it may travel as several parts).
type Message struct {
	ID        string        `json:"id"`
	AccountID string        `json:"account_id"`
	Sender    string        `json:"sender"`            // the email address that sent it
	MailID    string        `json:"mail_id,omitempty"` // the email's Message-ID
	Source    string        `json:"source,omitempty"`  // our number or sender id
	To        string        `json:"to"`                // E.164 without '+'
	Text      string        `json:"text"`
	Coding    uint8         `json:"coding"` // SMPP data_coding: 0 GSM 03.38, 8 UCS-2
	Parts     int           `json:"parts"`
	Price     int64         `json:"price"` // total, minor units
	Status    MessageStatus `json:"status"`
	Link      string        `json:"link,omitempty"`
	SMSCID    string        `json:"smsc_id,omitempty"`
	Error     string        `json:"error,omitempty"`
	Attempts  int           `json:"attempts"`
	// PartIDs are the SMSC ids of the parts accepted so far, by part ("" not
	// yet, "?" sent but its response was lost): a retry resubmits only the
	// parts without one.
	PartIDs     []string  `json:"part_ids,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	DoneAt      time.Time `json:"done_at,omitzero"`
	// Held: the message left its grouped queue entry for a retry or a wait
	// for a link (accounts.Entry); a consumer that claims the entry does not
	// send it again. Internal to dispatch.
	Held bool `json:"-"`
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
	// Incomplete: a reply sent in several parts of which some never came
	// within the reassembly wait; Text holds those that did, in order.
	Incomplete bool `json:"incomplete,omitempty"`
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
	// ErrAddressInOtherDomain: an exact address inside a domain that an
	// account of another tree has registered; it would take that tenant's
	// mail.
	ErrAddressInOtherDomain = errors.New("address is inside a domain registered to another account")
	ErrPublicDomain         = errors.New("public mail domains cannot be registered")
	// ErrDomainPending: mail from a domain whose registration waits for
	// proof of control (a DNS TXT token) or the operator's approval.
	ErrDomainPending = errors.New("domain registration is pending verification")
	// ErrVerification: the DNS TXT token of a domain was not found; the
	// text says what was looked up and what was expected.
	ErrVerification = errors.New("domain verification failed")
	// ErrForeignAddresses: a domain cannot be verified while an account of
	// another tree holds exact addresses inside it (they would shadow it).
	ErrForeignAddresses    = errors.New("addresses inside the domain are registered to another account")
	ErrAlreadyBootstrapped = errors.New("already bootstrapped")
	ErrInvalid             = errors.New("invalid")
	ErrBadKey              = errors.New("invalid or revoked API key")
	// ErrNotPermitted: the caller or account lacks a permission flag or
	// right; the error text names it.
	ErrNotPermitted = errors.New("not permitted")
	// ErrNotReplicated: a write reached the Redis master but not the
	// configured number of replicas in time (redis.min_replicas_ack); a
	// failover could still lose it, so it is not confirmed to the sender
	// (SMTP 451), whose retry is recognised by its idempotency key.
	ErrNotReplicated = errors.New("not confirmed by enough Redis replicas")
	// ErrStorageFull: Redis is close to its maxmemory (redis.memory_high),
	// so new work is refused (SMTP 452 4.3.1) while queued work drains,
	// rather than accepted and then failing halfway when Redis says OOM.
	ErrStorageFull = errors.New("insufficient storage")
)

// Account defaults applied by CreateAccount and UpdateAccount.
const (
	acctDefaultCountry  = "US"
	acctDefaultCurrency = "USD"
	acctDefaultMaxParts = 10
	// acctMaxMaxParts is the most parts a concatenated SMS can have: the
	// concatenation header counts parts in one octet (3GPP TS 23.040 §9.2.3.24.1).
	acctMaxMaxParts = 255
	MaxNameLen      = 100
)

// Invalidf returns an error wrapping ErrInvalid whose text names the
// field, e.g. "invalid: name: required".
func Invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// NormalizeAccount trims a's settings, applies defaults and validates them.
func NormalizeAccount(a *Account) error {
	a.Name = strings.TrimSpace(a.Name)
	switch {
	case a.Name == "":
		return Invalidf("name: required")
	case utf8.RuneCountInString(a.Name) > MaxNameLen:
		return Invalidf("name: longer than %d characters", MaxNameLen)
	case !utf8.ValidString(a.Name):
		return Invalidf("name: not valid UTF-8")
	}
	if err := CheckName("name", a.Name); err != nil {
		return err
	}
	a.ContactEmail = strings.TrimSpace(a.ContactEmail)
	if a.ContactEmail != "" {
		addr, err := mail.ParseAddress(a.ContactEmail)
		if err != nil {
			return Invalidf("contact_email: %q is not an email address", a.ContactEmail)
		}
		a.ContactEmail = addr.Address
	}
	a.DefaultCountry = strings.ToUpper(strings.TrimSpace(a.DefaultCountry))
	if a.DefaultCountry == "" {
		a.DefaultCountry = acctDefaultCountry
	}
	if !acctUpperLetters(a.DefaultCountry, 2) {
		return Invalidf("default_country: unknown country %q", a.DefaultCountry)
	}
	if a.PricePerPart < 0 {
		return Invalidf("price_per_part: negative")
	}
	if a.PricePerPart > MaxAmount {
		return Invalidf("price_per_part: larger than %d", int64(MaxAmount))
	}
	a.Currency = strings.ToUpper(strings.TrimSpace(a.Currency))
	if a.Currency == "" {
		a.Currency = acctDefaultCurrency
	}
	if !acctUpperLetters(a.Currency, 3) {
		return Invalidf("currency: %q is not an ISO 4217 code", a.Currency)
	}
	if a.MaxParts == 0 {
		a.MaxParts = acctDefaultMaxParts
	}
	if a.MaxParts < 1 || a.MaxParts > acctMaxMaxParts {
		return Invalidf("max_parts: %d is not between 1 and %d", a.MaxParts, acctMaxMaxParts)
	}
	switch a.LongMessage {
	case "":
		a.LongMessage = LongReject
	case LongReject, LongTruncate:
	default:
		return Invalidf("long_message: %q is not %q or %q", a.LongMessage, LongReject, LongTruncate)
	}
	switch a.SubjectMode {
	case "":
		a.SubjectMode = SubjectIgnore
	case SubjectIgnore, SubjectPrepend:
	default:
		return Invalidf("subject_mode: %q is not %q or %q", a.SubjectMode, SubjectIgnore, SubjectPrepend)
	}
	a.SenderID = strings.TrimSpace(a.SenderID)
	if a.SenderID != "" && !acctValidSenderID(a.SenderID) {
		return Invalidf("sender_id: %q is neither a number of up to 15 digits nor up to 11 letters and digits", a.SenderID)
	}
	switch a.Billing {
	case "":
		a.Billing = BillingPrepaid
	case BillingPrepaid, BillingPostpaid:
	default:
		return Invalidf("billing: %q is not %q or %q", a.Billing, BillingPrepaid, BillingPostpaid)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"credit_limit", a.CreditLimit}, {"auto_recharge.threshold", a.AutoRecharge.Threshold},
		{"auto_recharge.amount", a.AutoRecharge.Amount}, {"low_balance_threshold", a.LowBalance}} {
		if f.v < 0 || f.v > MaxAmount {
			return Invalidf("%s: %d is not between 0 and %d", f.name, f.v, int64(MaxAmount))
		}
	}
	if a.Billing == BillingPrepaid && a.CreditLimit != 0 {
		return Invalidf("credit_limit: only postpaid accounts have one")
	}
	if a.AutoRecharge.Amount > 0 && a.ParentID == "" {
		return Invalidf("auto_recharge: only sub-accounts recharge, from their parent")
	}
	if a.Permissions.Granted == nil {
		a.Permissions.Granted = []string{}
	}
	if a.Permissions.Enabled == nil {
		a.Permissions.Enabled = []string{}
	}
	return nil
}

// acctValidSenderID accepts a numeric source address (E.164, up to 15
// digits, optional '+') or an alphanumeric one (up to 11 characters, the
// limit of a GSM alphanumeric originator, 3GPP TS 23.040 §9.1.2.5).
func acctValidSenderID(id string) bool {
	digits := strings.TrimPrefix(id, "+")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		return len(digits) <= 15
	}
	if len(id) > 11 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" .-_&", c)
		if !ok {
			return false
		}
	}
	return true
}

func acctUpperLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// SplitList splits a stored comma list; empty is none.
func SplitList(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ",")
}

// AccountFromHash decodes an account hash; an empty hash is ErrNotFound.
func AccountFromHash(id string, h map[string]string) (*Account, error) {
	if len(h) == 0 || h["id"] == "" || Status(h["status"]) == StatusDeleted { // deleted: invisible (redisstore.DeleteAccount)
		return nil, fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
	a := &Account{
		ID:             h["id"],
		ParentID:       h["parent_id"],
		Name:           h["name"],
		ContactEmail:   h["contact_email"],
		Status:         Status(h["status"]),
		DefaultCountry: h["default_country"],
		Currency:       h["currency"],
		LongMessage:    h["long_message"],
		SubjectMode:    h["subject_mode"],
		SenderID:       h["sender_id"],
		Billing:        h["billing"],
		Permissions:    Permissions{Granted: SplitList(h["perm_granted"]), Enabled: SplitList(h["perm_enabled"])},
	}
	if a.Billing == "" {
		a.Billing = BillingPrepaid
	}
	var err error
	num := func(field string) int64 {
		v, e := strconv.ParseInt(h[field], 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("account %s: field %s: %w", id, field, e)
		}
		return v
	}
	a.PricePerPart = num("price_per_part")
	a.MaxParts = int(num("max_parts"))
	a.Balance = num("balance")
	a.CreatedAt = time.UnixMilli(num("created_at"))
	opt := func(field string) int64 { // fields added after the first release may be absent
		if h[field] == "" {
			return 0
		}
		return num(field)
	}
	a.CreditLimit = opt("credit_limit")
	a.CreditReserved = opt("credit_reserved")
	a.AutoRecharge = AutoRecharge{Threshold: opt("recharge_threshold"), Amount: opt("recharge_amount")}
	a.LowBalance = opt("low_balance")
	if err != nil {
		return nil, err
	}
	if a.SenderPolicy, err = UnmarshalPolicy(h["sender_policy"]); err != nil {
		return nil, fmt.Errorf("account %s: %w", id, err)
	}
	return a, nil
}

func ValidDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := range len(l) {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.Trim(tld, "0123456789") != "" // not an IP address
}

// NormalizeAddress parses a bare address (net/mail), lower-cases it and
// checks its domain.
func NormalizeAddress(email string) (string, error) {
	email = strings.TrimSpace(email)
	pa, err := mail.ParseAddress(email)
	if err != nil || pa.Name != "" || strings.ContainsAny(email, "<>") {
		return "", fmt.Errorf("%w: address: %q is not an email address", ErrInvalid, email)
	}
	a := strings.ToLower(pa.Address)
	at := strings.LastIndexByte(a, '@')
	if !regValidLocal(a[:at]) {
		return "", fmt.Errorf("%w: address: %q: quoted or unusual local parts are not supported", ErrInvalid, email)
	}
	if !ValidDomain(a[at+1:]) {
		return "", fmt.Errorf("%w: address: %q has no valid domain", ErrInvalid, email)
	}
	return a, nil
}

// regValidLocal accepts an RFC 5322 dot-atom local part (§3.2.3), with
// UTF-8 allowed as in RFC 6532.
func regValidLocal(l string) bool {
	if l == "" || l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return false
	}
	for i := range len(l) {
		c := l[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 ||
			strings.IndexByte(".!#$%&'*+-/=?^_`{|}~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// StatusDeleted marks a deleted sub-account. Such an account is invisible:
// GetAccount and every lookup answer ErrNotFound, and it cannot be
// reactivated. Its record, ledger, messages, inbox and statistics are kept
// for its parent's reports and audit (DeletedSubAccounts lists them).
const StatusDeleted Status = "deleted"

// DeleteResult says what DeleteAccount did.
type DeleteResult struct {
	AccountID string `json:"account_id"`
	ParentID  string `json:"parent_id"`
	// Returned is the balance moved back to the parent (minor units); a
	// negative value is a postpaid debt the parent settled.
	Returned  int64    `json:"returned"`
	Currency  string   `json:"currency"`
	Domains   []string `json:"domains_released"`
	Addresses []string `json:"addresses_released"`
	Keys      []string `json:"keys_revoked"`
}

// Errors of the sender identity methods, tested with errors.Is.
var (
	// ErrNumberTaken: the number is assigned to another account of the same
	// tree; the error names it.
	ErrNumberTaken = errors.New("number is assigned to another account")
	// ErrNumberNotOwned: the number is not one of the numbers the operator
	// allocated to the account's tree (or it belongs to another tenant: the
	// two are not told apart).
	ErrNumberNotOwned = errors.New("number is not allocated to this account tree")
)

// Senders is what an account may send from.
type Senders struct {
	AccountID string   `json:"account_id"`
	Numbers   []string `json:"numbers"`           // dedicated numbers, E.164 digits, sorted
	SenderIDs []string `json:"sender_ids"`        // approved alphanumeric ids, sorted
	Default   string   `json:"default,omitempty"` // Account.SenderID; empty: the gateway's default
}

// Allows reports whether id names one of the identities and returns it in
// its stored form: a number as its digits (a leading '+' is ignored), an
// alphanumeric id as approved (compared without regard to ASCII case);
// "", false when it names none.
func (s *Senders) Allows(id string) (string, bool) {
	if s == nil {
		return "", false
	}
	id = strings.TrimSpace(id)
	if d := strings.TrimPrefix(id, "+"); d != "" && strings.Trim(d, "0123456789") == "" {
		if slices.Contains(s.Numbers, d) {
			return d, true
		}
		return "", false
	}
	for _, a := range s.SenderIDs {
		if strings.EqualFold(a, id) {
			return a, true
		}
	}
	return "", false
}

// SplitPlus splits an email address whose local part carries a
// sub-address ("alice+ACME@example.com", RFC 5233) into the address without
// it ("alice@example.com") and the tag ("ACME"). An address without one is
// returned whole with an empty tag.
func SplitPlus(addr string) (base, tag string) {
	at := strings.LastIndexByte(addr, '@')
	if at < 1 {
		return addr, ""
	}
	local, domain := addr[:at], addr[at:]
	plus := strings.IndexByte(local, '+')
	if plus < 1 { // "+x@y": no base to speak of
		return addr, ""
	}
	return local[:plus] + domain, local[plus+1:]
}

// CheckName refuses control characters (ESC, CR, LF, ...) and bidirectional
// overrides in a name or label: printed raw by a terminal or a page they
// would rewrite what is shown. The error names the field.
func CheckName(field, s string) error {
	for i, r := range s {
		if UnsafeRune(r) {
			return Invalidf("%s: control character %U at byte %d is not allowed", field, r, i)
		}
	}
	return nil
}

// UnsafeRune reports runes that must not be stored in names or shown raw:
// control characters (ESC starts terminal escape sequences; CR, LF and TAB
// break lines and tables) and the bidirectional overrides, isolates and
// marks that make text show as other than it is.
func UnsafeRune(r rune) bool {
	return unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200E || r == 0x200F || r == 0x061C
}

// CheckText checks a free-text field (a message or template text, an
// auto-reply): line feeds and tabs are text, but no other control
// character (ESC drives terminals, CR and NUL split protocols) nor a
// bidirectional override, which would show the text as other than it is.
// The error names the field and where.
func CheckText(field, s string) error {
	for i, r := range s {
		if r != '\n' && r != '\t' && UnsafeRune(r) {
			return Invalidf("%s: control character %U at byte %d is not allowed", field, r, i)
		}
	}
	return nil
}

// HidesPricing reports whether money is hidden from the account's own
// members: a sub-account with hide_pricing in force (seed 002 "Hides pricing
// and account balances"). The parent's administrators always see it.
func (a *Account) HidesPricing() bool {
	return a != nil && a.ParentID != "" && a.Can(FlagHidePricing)
}
