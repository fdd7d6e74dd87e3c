package tenancy

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/phone"
)

var (
	//go:embed lua/sender_move.lua
	senderMoveLua    string
	senderMoveScript = store.NewScript("tenancy/sender_move.lua", senderMoveLua)

	//go:embed lua/sender_clear_default.lua
	senderClearDefaultLua    string
	senderClearDefaultScript = store.NewScript("tenancy/sender_clear_default.lua", senderClearDefaultLua)
)

// senderMaxAlphaLen is the longest alphanumeric originator (3GPP TS 23.040
// §9.1.2.5: 11 characters of the GSM 7-bit alphabet in 10 octets).
const senderMaxAlphaLen = 11

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
		return "", accounts.Invalidf("account: %s is a sub-account; numbers are allocated to parent accounts", root.ID)
	}
	n, err := senderNumber(number, root.DefaultCountry)
	if err != nil {
		return "", err
	}
	owner := ""
	for attempt := 0; owner == "" && attempt < 3; attempt++ { // freed meanwhile: claim again
		ok, err := s.RDB.SetNX(ctx, s.Keys.Number(n), root.ID, 0).Result()
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
			return "", fmt.Errorf("%s is held by account %s: %w", n, owner, accounts.ErrNumberTaken)
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
		return "", fmt.Errorf("number %s: %w", n, accounts.ErrNotFound)
	}
	deleted, err := s.Run(ctx, regReleaseScript, []string{s.Keys.Number(n)}, owner).Int()
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

// AssignNumber lets accountID send from a dedicated number of its tree. On
// A sub-account it moves the number from the parent, which must hold it
// (ErrNumberTaken, naming the holder, if a sibling does: take it back there
// first); on the parent itself it only confirms the parent holds it.
// ErrNumberNotOwned if the tree has no such number. Assigning again is a
// no-op that also repairs the index.
func (s *Store) AssignNumber(ctx context.Context, accountID, number string) (*accounts.Senders, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("assign number: %w", err)
	}
	n, err := senderNumber(number, a.DefaultCountry)
	if err != nil {
		return nil, err
	}
	root := cmp.Or(a.ParentID, a.ID)
	prev, err := s.Run(ctx, senderMoveScript, []string{s.Keys.Number(n)}, root, a.ID).Text()
	if err != nil {
		return nil, fmt.Errorf("assign number %s: %w", n, err)
	}
	switch {
	case prev == a.ID || prev == root: // held already, or moved now
	case prev == "":
		return nil, fmt.Errorf("%s is not one of the numbers of account %s: %w", n, root, accounts.ErrNumberNotOwned)
	default:
		parent, deleted, err := s.senderHolder(ctx, prev)
		if err != nil {
			return nil, fmt.Errorf("assign number %s: %w", n, err)
		}
		if parent != root {
			return nil, fmt.Errorf("%s is not one of the numbers of account %s: %w", n, root, accounts.ErrNumberNotOwned)
		}
		if !deleted {
			return nil, fmt.Errorf("%s is assigned to sub-account %s: %w", n, prev, accounts.ErrNumberTaken)
		}
		// A deleted sub-account's number is the tree's again.
		again, err := s.Run(ctx, senderMoveScript, []string{s.Keys.Number(n)}, prev, a.ID).Text()
		if err != nil {
			return nil, fmt.Errorf("assign number %s: %w", n, err)
		}
		if again != prev {
			return nil, fmt.Errorf("assign number %s: it moved meanwhile; try again: %w", n, accounts.ErrNumberTaken)
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
		return fmt.Errorf("number %q of account %s: %w", number, a.ID, accounts.ErrNotFound)
	}
	if a.ParentID == "" {
		return accounts.Invalidf("number: %s is a parent account's number; the operator takes it back (smsgate admin number remove)", n)
	}
	prev, err := s.Run(ctx, senderMoveScript, []string{s.Keys.Number(n)}, a.ID, a.ParentID).Text()
	if err != nil {
		return fmt.Errorf("unassign number %s: %w", n, err)
	}
	if prev != a.ID {
		_ = s.senderIndex(ctx, a.ID, n, false) // a stale index entry: drop it
		return fmt.Errorf("number %s of account %s: %w", n, a.ID, accounts.ErrNotFound)
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
func (s *Store) AddSenderID(ctx context.Context, accountID, id string) (*accounts.Senders, error) {
	v, err := senderAlpha(id)
	if err != nil {
		return nil, err
	}
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, fmt.Errorf("add sender id: %w", err)
	}
	shard, _ := s.ShardFromID(accountID)
	if err := s.RDB.HSetNX(ctx, s.Keys.SenderIDs(shard, accountID), strings.ToLower(v), v).Err(); err != nil {
		return nil, fmt.Errorf("add sender id %s: %w", v, err)
	}
	return s.Senders(ctx, accountID)
}

// RemoveSenderID withdraws an alphanumeric sender id (in any case) and
// clears the account's default if it was that id. ErrNotFound if the
// account does not have it.
func (s *Store) RemoveSenderID(ctx context.Context, accountID, id string) error {
	if _, err := s.AcctKey(accountID); err != nil {
		return err
	}
	shard, _ := s.ShardFromID(accountID)
	n, err := s.RDB.HDel(ctx, s.Keys.SenderIDs(shard, accountID), strings.ToLower(strings.TrimSpace(id))).Result()
	if err != nil {
		return fmt.Errorf("remove sender id %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sender id %q of account %s: %w", id, accountID, accounts.ErrNotFound)
	}
	return s.senderClearDefault(ctx, accountID, strings.TrimSpace(id))
}

// Senders returns the identities of an account and its default.
func (s *Store) Senders(ctx context.Context, accountID string) (*accounts.Senders, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("senders: %w", err)
	}
	shard, _ := s.ShardFromID(a.ID)
	pipe := s.RDB.Pipeline()
	nums := pipe.SMembers(ctx, s.Keys.Numbers(shard, a.ID))
	ids := pipe.HVals(ctx, s.Keys.SenderIDs(shard, a.ID))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("senders of %s: %w", a.ID, err)
	}
	out := &accounts.Senders{AccountID: a.ID, Numbers: []string{}, SenderIDs: ids.Val(), Default: a.SenderID}
	if len(nums.Val()) > 0 {
		// The global key decides: an index entry a crash left behind is
		// not shown.
		pipe := s.RDB.Pipeline()
		owners := make([]*redis.StringCmd, len(nums.Val()))
		for i, n := range nums.Val() {
			owners[i] = pipe.Get(ctx, s.Keys.Number(n))
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
func (s *Store) SetDefaultSender(ctx context.Context, accountID, id string) (*accounts.Senders, error) {
	cur, err := s.Senders(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("set default sender: %w", err)
	}
	v := ""
	if strings.TrimSpace(id) != "" {
		var ok bool
		if v, ok = cur.Allows(id); !ok {
			return nil, accounts.Invalidf("sender: %q is not one of account %s's numbers or sender ids", id, accountID)
		}
	}
	key, _ := s.AcctKey(accountID)
	h, err := s.Run(ctx, acctUpdateScript, []string{key}, "sender_id", v).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("set default sender of %s: %w", accountID, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("account %q: %w", accountID, accounts.ErrNotFound)
	}
	cur.Default = v
	return cur, nil
}

// senderHolder returns the parent of the account holding a number and
// whether that account is deleted (a deleted sub-account keeps its record,
// redisstore.DeleteAccount). An id that names no record has no parent.
func (s *Store) senderHolder(ctx context.Context, id string) (parent string, deleted bool, err error) {
	key, err := s.AcctKey(id)
	if err != nil {
		return "", false, nil
	}
	v, err := s.RDB.HMGet(ctx, key, "parent_id", "status").Result()
	if err != nil {
		return "", false, fmt.Errorf("holder %s: %w", id, err)
	}
	p, _ := v[0].(string)
	st, _ := v[1].(string)
	return p, accounts.Status(st) == accounts.StatusDeleted, nil
}

// senderIndex adds a number to an account's index set, or removes it.
func (s *Store) senderIndex(ctx context.Context, accountID, number string, add bool) error {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return err
	}
	key := s.Keys.Numbers(shard, accountID)
	if add {
		return s.RDB.SAdd(ctx, key, number).Err()
	}
	return s.RDB.SRem(ctx, key, number).Err()
}

// senderClearDefault clears the account's default if it is id (ids with a
// letter compare without regard to case).
func (s *Store) senderClearDefault(ctx context.Context, accountID, id string) error {
	key, err := s.AcctKey(accountID)
	if err != nil {
		return err
	}
	mode := ""
	if strings.Trim(id, "0123456789") != "" {
		mode = "ci"
	}
	if err := s.Run(ctx, senderClearDefaultScript, []string{key}, id, mode).Err(); err != nil {
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
		return "", accounts.Invalidf("number: %q is not a valid number: %s", raw,
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
			return "", accounts.Invalidf("sender_id: %q may contain only letters and digits", id)
		}
	}
	switch {
	case v == "":
		return "", accounts.Invalidf("sender_id: required")
	case len(v) > senderMaxAlphaLen:
		return "", accounts.Invalidf("sender_id: %q is longer than %d characters (3GPP TS 23.040 §9.1.2.5)", id, senderMaxAlphaLen)
	case !letter:
		return "", accounts.Invalidf("sender_id: %q has no letter; numbers are dedicated numbers (senders/numbers)", id)
	}
	return v, nil
}

// GrantSenderID records the operator's approval of alphanumeric sender id
// for root account rootID (a brand the customer has shown is theirs): its
// parent administrators may then hand it to the root and its sub-accounts.
// ErrInvalid for a malformed id or a sub-account.
func (s *Store) GrantSenderID(ctx context.Context, rootID, id string) error {
	v, err := senderAlpha(id)
	if err != nil {
		return err
	}
	a, err := s.GetAccount(ctx, rootID)
	if err != nil {
		return fmt.Errorf("grant sender id: %w", err)
	}
	if a.ParentID != "" {
		return accounts.Invalidf("account: %s is a sub-account; the operator approves sender ids for parent accounts", rootID)
	}
	shard, _ := s.ShardFromID(rootID)
	if err := s.RDB.HSet(ctx, s.Keys.SenderGrants(shard, rootID), strings.ToLower(v), v).Err(); err != nil {
		return fmt.Errorf("grant sender id %s: %w", v, err)
	}
	return nil
}

// RevokeSenderGrant withdraws the operator's approval of id for rootID
// (ids already handed out stay until removed). ErrNotFound if it had none.
func (s *Store) RevokeSenderGrant(ctx context.Context, rootID, id string) error {
	if _, err := s.AcctKey(rootID); err != nil {
		return err
	}
	shard, _ := s.ShardFromID(rootID)
	n, err := s.RDB.HDel(ctx, s.Keys.SenderGrants(shard, rootID), strings.ToLower(strings.TrimSpace(id))).Result()
	if err != nil {
		return fmt.Errorf("revoke sender id %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sender id %q of account %s: %w", id, rootID, accounts.ErrNotFound)
	}
	return nil
}

// SenderIDGranted reports whether the operator approved id for the tree of
// account acct (its root).
func (s *Store) SenderIDGranted(ctx context.Context, acct *accounts.Account, id string) (bool, error) {
	root := acct.ID
	if acct.ParentID != "" {
		root = acct.ParentID
	}
	shard, err := s.ShardFromID(root)
	if err != nil {
		return false, err
	}
	ok, err := s.RDB.HExists(ctx, s.Keys.SenderGrants(shard, root), strings.ToLower(strings.TrimSpace(id))).Result()
	if err != nil {
		return false, fmt.Errorf("sender id %s: %w", id, err)
	}
	return ok, nil
}
