package accounts

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/phone"
)

// Sender identities (seed 003 "sender view"): the dedicated numbers and
// alphanumeric sender ids an account may send from, and its default
// (Account.SenderID).
//
// Dedicated numbers belong to the operator, who allocates them to parent
// accounts (smsgate admin number add, straight to Redis like bootstrap). A
// parent's administrators then assign them to the parent itself or to one of
// its sub-accounts, and take them back. A number belongs to at most one
// account system-wide: the global key P:number:<digits> names it, claimed
// with SET NX and moved between accounts of one tree by a compare-and-set
// script, so that of concurrent assignments exactly one wins. The per-account
// set {sN}:numbers:<id> is an index only: listings check each entry against
// the global key, so an index left stale by a crash shows nothing wrong, and
// repeating the operation repairs it.
//
// Alphanumeric sender ids (up to 11 letters and digits: the limit of an
// alphanumeric originator, 3GPP TS 23.040 §9.1.2.5) are per account and need
// no global claim: the parent's administrators approve them for an account.
// They are kept in the hash {sN}:senderids:<id>, lower-cased id -> id as
// approved, so that "Acme" and "ACME" are one id.

var (
	//go:embed lua/sender_move.lua
	senderMoveLua    string
	senderMoveScript = redis.NewScript(senderMoveLua)

	//go:embed lua/sender_clear_default.lua
	senderClearDefaultLua    string
	senderClearDefaultScript = redis.NewScript(senderClearDefaultLua)
)

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

// senderMaxAlphaLen is the longest alphanumeric originator (3GPP TS 23.040
// §9.1.2.5: 11 characters of the GSM 7-bit alphabet in 10 octets).
const senderMaxAlphaLen = 11

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

// AllocateNumber gives a dedicated number to a parent (root) account: the
// operator's step, done before the parent's administrators can use or
// assign it. number is normalised to E.164 with the account's default
// country and returned as digits. Allocating a number the tree already has
// is a no-op; another tree's number is ErrNumberTaken (the operator may know
// whose); a sub-account is ErrInvalid.
func (s *Store) AllocateNumber(ctx context.Context, rootID, number string) (string, error) {
	root, err := s.GetAccount(ctx, rootID)
	if err != nil {
		return "", fmt.Errorf("allocate number: %w", err)
	}
	if root.ParentID != "" {
		return "", acctInvalid("account: %s is a sub-account; numbers are allocated to parent accounts", root.ID)
	}
	n, err := senderNumber(number, root.DefaultCountry)
	if err != nil {
		return "", err
	}
	owner := ""
	for attempt := 0; owner == "" && attempt < 3; attempt++ { // freed meanwhile: claim again
		ok, err := s.rdb.SetNX(ctx, s.gkey("number", n), root.ID, 0).Result()
		if err != nil {
			return "", fmt.Errorf("allocate number %s: %w", n, err)
		}
		if ok {
			owner = root.ID
		} else if owner, err = s.NumberOwner(ctx, n); err != nil {
			return "", fmt.Errorf("allocate number %s: %w", n, err)
		}
	}
	if owner != root.ID {
		if o, err := s.GetAccount(ctx, owner); err != nil || o.ParentID != root.ID {
			return "", fmt.Errorf("%s is held by account %s: %w", n, owner, ErrNumberTaken)
		}
	}
	if err := s.senderIndex(ctx, owner, n, true); err != nil {
		return "", fmt.Errorf("allocate number %s: %w", n, err)
	}
	return n, nil
}

// FreeNumber takes a dedicated number back from whichever account holds it
// (the operator's step) and returns that account's id. The account's
// default is cleared if it was the number. ErrNotFound if nobody has it.
// number must be in international form.
func (s *Store) FreeNumber(ctx context.Context, number string) (string, error) {
	n, err := senderNumber(number, "")
	if err != nil {
		return "", err
	}
	owner, err := s.NumberOwner(ctx, n)
	if err != nil {
		return "", fmt.Errorf("free number %s: %w", n, err)
	}
	if owner == "" {
		return "", fmt.Errorf("number %s: %w", n, ErrNotFound)
	}
	deleted, err := regReleaseScript.Run(ctx, s.rdb, []string{s.gkey("number", n)}, owner).Int()
	if err != nil {
		return "", fmt.Errorf("free number %s: %w", n, err)
	}
	if deleted == 0 { // moved meanwhile: the operator runs it again
		return "", fmt.Errorf("free number %s: it moved while being freed; try again", n)
	}
	if err := s.senderIndex(ctx, owner, n, false); err != nil {
		return owner, fmt.Errorf("free number %s: %w", n, err)
	}
	if err := s.senderClearDefault(ctx, owner, n); err != nil {
		return owner, fmt.Errorf("free number %s: %w", n, err)
	}
	return owner, nil
}

// NumberOwner returns the id of the account that holds a dedicated number
// (E.164 digits; a leading '+' is ignored), or "" if none does.
func (s *Store) NumberOwner(ctx context.Context, number string) (string, error) {
	owner, err := s.rdb.Get(ctx, s.gkey("number", strings.TrimPrefix(number, "+"))).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("number owner: %w", err)
	}
	return owner, nil
}

// AssignNumber lets accountID send from a dedicated number of its tree. On
// a sub-account it moves the number from the parent, which must hold it
// (ErrNumberTaken, naming the holder, if a sibling does: take it back there
// first); on the parent itself it only confirms the parent holds it.
// ErrNumberNotOwned if the tree has no such number. Assigning again is a
// no-op that also repairs the index.
func (s *Store) AssignNumber(ctx context.Context, accountID, number string) (*Senders, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("assign number: %w", err)
	}
	n, err := senderNumber(number, a.DefaultCountry)
	if err != nil {
		return nil, err
	}
	root := cmp.Or(a.ParentID, a.ID)
	prev, err := senderMoveScript.Run(ctx, s.rdb, []string{s.gkey("number", n)}, root, a.ID).Text()
	if err != nil {
		return nil, fmt.Errorf("assign number %s: %w", n, err)
	}
	switch {
	case prev == a.ID || prev == root: // held already, or moved now
	case prev == "":
		return nil, fmt.Errorf("%s is not one of the numbers of account %s: %w", n, root, ErrNumberNotOwned)
	default:
		parent, deleted, err := s.senderHolder(ctx, prev)
		if err != nil {
			return nil, fmt.Errorf("assign number %s: %w", n, err)
		}
		if parent != root {
			return nil, fmt.Errorf("%s is not one of the numbers of account %s: %w", n, root, ErrNumberNotOwned)
		}
		if !deleted {
			return nil, fmt.Errorf("%s is assigned to sub-account %s: %w", n, prev, ErrNumberTaken)
		}
		// A deleted sub-account's number is the tree's again.
		again, err := senderMoveScript.Run(ctx, s.rdb, []string{s.gkey("number", n)}, prev, a.ID).Text()
		if err != nil {
			return nil, fmt.Errorf("assign number %s: %w", n, err)
		}
		if again != prev {
			return nil, fmt.Errorf("assign number %s: it moved meanwhile; try again: %w", n, ErrNumberTaken)
		}
		if err := s.senderIndex(ctx, prev, n, false); err != nil {
			return nil, fmt.Errorf("assign number %s: %w", n, err)
		}
	}
	if a.ID != root {
		if err := s.senderIndex(ctx, root, n, false); err != nil {
			return nil, fmt.Errorf("assign number %s: %w", n, err)
		}
	}
	if err := s.senderIndex(ctx, a.ID, n, true); err != nil {
		return nil, fmt.Errorf("assign number %s: %w", n, err)
	}
	return s.Senders(ctx, a.ID)
}

// UnassignNumber gives a sub-account's dedicated number back to its parent
// and clears the sub-account's default if it was that number. ErrNotFound
// if the sub-account does not hold it; on a parent account ErrInvalid: its
// numbers go back to the operator (smsgate admin number remove).
func (s *Store) UnassignNumber(ctx context.Context, accountID, number string) error {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return fmt.Errorf("unassign number: %w", err)
	}
	n, err := senderNumber(number, a.DefaultCountry)
	if err != nil {
		return fmt.Errorf("number %q of account %s: %w", number, a.ID, ErrNotFound)
	}
	if a.ParentID == "" {
		return acctInvalid("number: %s is a parent account's number; the operator takes it back (smsgate admin number remove)", n)
	}
	prev, err := senderMoveScript.Run(ctx, s.rdb, []string{s.gkey("number", n)}, a.ID, a.ParentID).Text()
	if err != nil {
		return fmt.Errorf("unassign number %s: %w", n, err)
	}
	if prev != a.ID {
		_ = s.senderIndex(ctx, a.ID, n, false) // a stale index entry: drop it
		return fmt.Errorf("number %s of account %s: %w", n, a.ID, ErrNotFound)
	}
	if err := s.senderIndex(ctx, a.ID, n, false); err != nil {
		return fmt.Errorf("unassign number %s: %w", n, err)
	}
	if err := s.senderIndex(ctx, a.ParentID, n, true); err != nil {
		return fmt.Errorf("unassign number %s: %w", n, err)
	}
	return s.senderClearDefault(ctx, a.ID, n)
}

// AddSenderID approves an alphanumeric sender id for an account and returns
// the account's identities. An id approved already (in any case) is kept
// as first approved. ErrInvalid unless it is 1 to 11 letters and digits
// with at least one letter (numbers are dedicated numbers, not ids).
func (s *Store) AddSenderID(ctx context.Context, accountID, id string) (*Senders, error) {
	v, err := senderAlpha(id)
	if err != nil {
		return nil, err
	}
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, fmt.Errorf("add sender id: %w", err)
	}
	shard, _ := s.shardFromID(accountID)
	if err := s.rdb.HSetNX(ctx, s.skey(shard, "senderids", accountID), strings.ToLower(v), v).Err(); err != nil {
		return nil, fmt.Errorf("add sender id %s: %w", v, err)
	}
	return s.Senders(ctx, accountID)
}

// RemoveSenderID withdraws an alphanumeric sender id (in any case) and
// clears the account's default if it was that id. ErrNotFound if the
// account does not have it.
func (s *Store) RemoveSenderID(ctx context.Context, accountID, id string) error {
	if _, err := s.acctKey(accountID); err != nil {
		return err
	}
	shard, _ := s.shardFromID(accountID)
	n, err := s.rdb.HDel(ctx, s.skey(shard, "senderids", accountID), strings.ToLower(strings.TrimSpace(id))).Result()
	if err != nil {
		return fmt.Errorf("remove sender id %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sender id %q of account %s: %w", id, accountID, ErrNotFound)
	}
	return s.senderClearDefault(ctx, accountID, strings.TrimSpace(id))
}

// Senders returns the identities of an account and its default.
func (s *Store) Senders(ctx context.Context, accountID string) (*Senders, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("senders: %w", err)
	}
	shard, _ := s.shardFromID(a.ID)
	pipe := s.rdb.Pipeline()
	nums := pipe.SMembers(ctx, s.skey(shard, "numbers", a.ID))
	ids := pipe.HVals(ctx, s.skey(shard, "senderids", a.ID))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("senders of %s: %w", a.ID, err)
	}
	out := &Senders{AccountID: a.ID, Numbers: []string{}, SenderIDs: ids.Val(), Default: a.SenderID}
	if len(nums.Val()) > 0 {
		// The global key decides: an index entry a crash left behind is
		// not shown.
		pipe := s.rdb.Pipeline()
		owners := make([]*redis.StringCmd, len(nums.Val()))
		for i, n := range nums.Val() {
			owners[i] = pipe.Get(ctx, s.gkey("number", n))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("senders of %s: %w", a.ID, err)
		}
		for i, n := range nums.Val() {
			if owners[i].Val() == a.ID {
				out.Numbers = append(out.Numbers, n)
			}
		}
	}
	slices.Sort(out.Numbers)
	slices.Sort(out.SenderIDs)
	return out, nil
}

// SetDefaultSender makes one of the account's identities its default
// source address (Account.SenderID), or clears it with "". ErrInvalid if
// id is none of them. Only the sender_id field is written, so a concurrent
// change of other settings is not lost.
func (s *Store) SetDefaultSender(ctx context.Context, accountID, id string) (*Senders, error) {
	cur, err := s.Senders(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("set default sender: %w", err)
	}
	v := ""
	if strings.TrimSpace(id) != "" {
		var ok bool
		if v, ok = cur.Allows(id); !ok {
			return nil, acctInvalid("sender: %q is not one of account %s's numbers or sender ids", id, accountID)
		}
	}
	key, _ := s.acctKey(accountID)
	h, err := acctUpdateScript.Run(ctx, s.rdb, []string{key}, "sender_id", v).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("set default sender of %s: %w", accountID, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("account %q: %w", accountID, ErrNotFound)
	}
	cur.Default = v
	return cur, nil
}

// numberInbox returns the account whose inbox gets a reply to our number to
// with no conversation: the holder of that dedicated number, if it still
// exists; "" otherwise.
func (s *Store) numberInbox(ctx context.Context, to string) (string, error) {
	owner, err := s.NumberOwner(ctx, to)
	if err != nil || owner == "" {
		return "", err
	}
	if _, err := s.GetAccount(ctx, owner); errors.Is(err, ErrNotFound) {
		return "", nil // deleted: the reply goes to the unrouted inbox
	} else if err != nil {
		return "", err
	}
	return owner, nil
}

// senderHolder returns the parent of the account holding a number and
// whether that account is deleted (a deleted sub-account keeps its record,
// lifecycle.go). An id that names no record has no parent.
func (s *Store) senderHolder(ctx context.Context, id string) (parent string, deleted bool, err error) {
	key, err := s.acctKey(id)
	if err != nil {
		return "", false, nil
	}
	v, err := s.rdb.HMGet(ctx, key, "parent_id", "status").Result()
	if err != nil {
		return "", false, fmt.Errorf("holder %s: %w", id, err)
	}
	p, _ := v[0].(string)
	st, _ := v[1].(string)
	return p, Status(st) == StatusDeleted, nil
}

// senderIndex adds a number to an account's index set, or removes it.
func (s *Store) senderIndex(ctx context.Context, accountID, number string, add bool) error {
	shard, err := s.shardFromID(accountID)
	if err != nil {
		return err
	}
	key := s.skey(shard, "numbers", accountID)
	if add {
		return s.rdb.SAdd(ctx, key, number).Err()
	}
	return s.rdb.SRem(ctx, key, number).Err()
}

// senderClearDefault clears the account's default if it is id (ids with a
// letter compare without regard to case).
func (s *Store) senderClearDefault(ctx context.Context, accountID, id string) error {
	key, err := s.acctKey(accountID)
	if err != nil {
		return err
	}
	mode := ""
	if strings.Trim(id, "0123456789") != "" {
		mode = "ci"
	}
	if err := senderClearDefaultScript.Run(ctx, s.rdb, []string{key}, id, mode).Err(); err != nil {
		return fmt.Errorf("clear default sender of %s: %w", accountID, err)
	}
	return nil
}

// senderNumber normalises a dedicated number to E.164 digits with the
// account's default country; country "" accepts only international form
// (a leading '+' is implied).
func senderNumber(raw, country string) (string, error) {
	in := strings.TrimSpace(raw)
	if country == "" && in != "" && !strings.HasPrefix(in, "+") {
		in = "+" + in
	}
	n, err := phone.Normalize(in, country)
	if err != nil {
		return "", acctInvalid("number: %q is not a valid number: %s", raw,
			strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": "))
	}
	return n, nil
}

// senderAlpha checks an alphanumeric sender id: 1 to 11 ASCII letters and
// digits, at least one a letter.
func senderAlpha(id string) (string, error) {
	v := strings.TrimSpace(id)
	letter := false
	for i := range len(v) {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9':
		default:
			return "", acctInvalid("sender_id: %q may contain only letters and digits", id)
		}
	}
	switch {
	case v == "":
		return "", acctInvalid("sender_id: required")
	case len(v) > senderMaxAlphaLen:
		return "", acctInvalid("sender_id: %q is longer than %d characters (3GPP TS 23.040 §9.1.2.5)", id, senderMaxAlphaLen)
	case !letter:
		return "", acctInvalid("sender_id: %q has no letter; numbers are dedicated numbers (senders/numbers)", id)
	}
	return v, nil
}
