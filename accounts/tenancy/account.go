package tenancy

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/acct_create_sub.lua
	acctCreateSubLua    string
	acctCreateSubScript = store.NewScript("tenancy/acct_create_sub.lua", acctCreateSubLua)

	//go:embed lua/acct_update.lua
	acctUpdateLua    string
	acctUpdateScript = store.NewScript("tenancy/acct_update.lua", acctUpdateLua)
)

// CreateAccount validates a and stores it as a new account, returning the
// stored account (with its id, defaults and a zero balance; a.Balance and
// A.ID are ignored).
//
// Defaults: Status active, DefaultCountry "US" (a sub-account inherits its
// parent's), Currency "USD" (a sub-account inherits its parent's and may not
// differ: money moves between them), MaxParts 10, LongMessage reject,
// SubjectMode ignore. PricePerPart 0 is allowed (free sending).
//
// Nesting is one level deep: a.ParentID, when set, must name an existing,
// active root account; a sub-account of a sub-account is refused with
// ErrInvalid. The parent check and the insert run in one Lua script, so a
// parent deactivated concurrently cannot gain a sub-account. A new root
// account gets a random shard; a sub-account shares its parent's shard so
// that one script can move money between them.
func (s *Store) CreateAccount(ctx context.Context, a accounts.Account) (*accounts.Account, error) {
	a.ID, a.Balance = "", 0
	var parent *accounts.Account
	if a.ParentID != "" {
		p, err := s.GetAccount(ctx, a.ParentID)
		if errors.Is(err, accounts.ErrNotFound) {
			return nil, accounts.Invalidf("parent_id: account %q not found", a.ParentID)
		}
		if err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
		parent = p
		if a.DefaultCountry == "" {
			a.DefaultCountry = p.DefaultCountry
		}
		if a.Currency == "" {
			a.Currency = p.Currency
		}
	}
	if a.Status == "" {
		a.Status = accounts.StatusActive
	}
	if a.Status != accounts.StatusActive && a.Status != accounts.StatusDeactivated {
		return nil, accounts.Invalidf("status: unknown status %q", a.Status)
	}
	// Permission flags (flags.go): a sub-account given none gets the
	// defaults; given ones are validated. A root has every flag.
	if a.ParentID != "" && len(a.Permissions.Granted) == 0 && len(a.Permissions.Enabled) == 0 {
		a.Permissions = accounts.DefaultPermissions()
	}
	perms, err := accounts.NormPermissions(a.Permissions)
	if err != nil {
		return nil, err
	}
	if len(perms.Enabled) > 0 && len(perms.Granted) == 0 {
		return nil, accounts.Invalidf("enabled: flag %s is not granted", perms.Enabled[0])
	}
	a.Permissions = perms
	if err := accounts.NormalizeAccount(&a); err != nil {
		return nil, err
	}
	a.CreatedAt = time.UnixMilli(s.Now().UnixMilli())

	if parent == nil {
		shard := rand.IntN(s.Keys.Shards)
		a.ID = store.NewShardedID("a", shard)
		if err := s.RDB.HSet(ctx, s.Keys.Account(shard, a.ID), acctCreateFields(&a)...).Err(); err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
		// Listed only once stored: a crash in between leaves an unlisted
		// record, never a listed id without one.
		if err := s.RDB.SAdd(ctx, s.Keys.AllAccounts(), a.ID).Err(); err != nil {
			return nil, fmt.Errorf("create account: list %s: %w", a.ID, err)
		}
		return &a, nil
	}

	if parent.ParentID != "" {
		return nil, accounts.Invalidf("parent_id: %s is a sub-account; nesting is one level deep", parent.ID)
	}
	if parent.Status != accounts.StatusActive {
		return nil, accounts.Invalidf("parent_id: account %s is deactivated", parent.ID)
	}
	if a.Currency != parent.Currency {
		return nil, accounts.Invalidf("currency: %q differs from the parent's %q", a.Currency, parent.Currency)
	}
	shard, _ := s.ShardFromID(parent.ID) // valid: GetAccount succeeded
	a.ID = store.NewShardedID("a", shard)
	keys := []string{s.Keys.Account(shard, parent.ID), s.Keys.Account(shard, a.ID), s.Keys.Subs(shard, parent.ID)}
	reply, err := s.Run(ctx, acctCreateSubScript, keys, acctCreateFields(&a)...).Result()
	if err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	res, _ := reply.(string)
	if l, ok := reply.([]any); ok { // {"credit", parent available}
		return nil, &accounts.CreditError{Parent: parent.ID, Available: store.ReplyInt(l, 1), Want: a.CreditLimit, Currency: parent.Currency}
	}
	switch res {
	case "ok":
		return &a, nil
	case "notfound":
		return nil, accounts.Invalidf("parent_id: account %q not found", parent.ID)
	case "nested":
		return nil, accounts.Invalidf("parent_id: %s is a sub-account; nesting is one level deep", parent.ID)
	default: // "deactivated"
		return nil, accounts.Invalidf("parent_id: account %s is deactivated", parent.ID)
	}
}

// UpdateAccount stores the settings of a (name, contact email, country,
// price, limits, policies, sender id), validated as in CreateAccount. It
// never changes the balance, parent, status, currency (it denominates the
// ledger; a different non-empty value is ErrInvalid) or creation time. On
// success a is refreshed from the stored record. ErrNotFound if a.ID is
// unknown.
func (s *Store) UpdateAccount(ctx context.Context, a *accounts.Account) error {
	key, err := s.AcctKey(a.ID)
	if err != nil {
		return err
	}
	cur, err := s.GetAccount(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	u := *a
	if u.Currency == "" {
		u.Currency = cur.Currency
	}
	if u.Currency != cur.Currency {
		return accounts.Invalidf("currency: cannot change from %q", cur.Currency)
	}
	if err := accounts.NormalizeAccount(&u); err != nil {
		return err
	}
	pkey := key
	if cur.ParentID != "" {
		if pkey, err = s.AcctKey(cur.ParentID); err != nil {
			return err
		}
	}
	h, err := s.Run(ctx, acctUpdateScript, []string{key, pkey}, acctSettingFields(&u)...).StringSlice()
	if err != nil {
		return fmt.Errorf("update account %s: %w", a.ID, err)
	}
	if len(h) == 0 {
		return fmt.Errorf("update account %q: %w", a.ID, accounts.ErrNotFound)
	}
	if err := creditReply(cur, u.CreditLimit, h); err != nil {
		return err
	}
	m := make(map[string]string, len(h)/2)
	for i := 0; i+1 < len(h); i += 2 {
		m[h[i]] = h[i+1]
	}
	stored, err := accounts.AccountFromHash(a.ID, m)
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	*a = *stored
	return nil
}

// ListAccounts returns the root (parent) accounts, sorted by name.
func (s *Store) ListAccounts(ctx context.Context) ([]*accounts.Account, error) {
	ids, err := s.RDB.SMembers(ctx, s.Keys.AllAccounts()).Result()
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return s.AcctLoadMany(ctx, ids)
}

// ListSubAccounts returns the sub-accounts of parentID, sorted by name.
// ErrNotFound if the parent does not exist.
func (s *Store) ListSubAccounts(ctx context.Context, parentID string) ([]*accounts.Account, error) {
	if _, err := s.GetAccount(ctx, parentID); err != nil {
		return nil, fmt.Errorf("list sub-accounts: %w", err)
	}
	shard, _ := s.ShardFromID(parentID)
	ids, err := s.RDB.SMembers(ctx, s.Keys.Subs(shard, parentID)).Result()
	if err != nil {
		return nil, fmt.Errorf("list sub-accounts of %s: %w", parentID, err)
	}
	return s.AcctLoadMany(ctx, ids)
}

// SetStatus activates or deactivates an account. Deactivating a parent
// stops its sub-accounts too (checked where they are used) without
// changing their own status.
func (s *Store) SetStatus(ctx context.Context, id string, st accounts.Status) error {
	if st != accounts.StatusActive && st != accounts.StatusDeactivated {
		return accounts.Invalidf("status: unknown status %q", st)
	}
	key, err := s.AcctKey(id)
	if err != nil {
		return err
	}
	// The update script writes only if the record exists.
	h, err := s.Run(ctx, acctUpdateScript, []string{key}, "status", string(st)).StringSlice()
	if err != nil {
		return fmt.Errorf("set status of %s: %w", id, err)
	}
	if len(h) == 0 {
		return fmt.Errorf("set status: account %q: %w", id, accounts.ErrNotFound)
	}
	return nil
}

// acctSettingFields are the hash fields UpdateAccount may change.
func acctSettingFields(a *accounts.Account) []any {
	return []any{
		"name", a.Name,
		"contact_email", a.ContactEmail,
		"default_country", a.DefaultCountry,
		"price_per_part", strconv.FormatInt(a.PricePerPart, 10),
		"currency", a.Currency,
		"max_parts", strconv.Itoa(a.MaxParts),
		"long_message", a.LongMessage,
		"subject_mode", a.SubjectMode,
		"sender_id", a.SenderID,
		"billing", a.Billing,
		"credit_limit", strconv.FormatInt(a.CreditLimit, 10),
		"recharge_threshold", strconv.FormatInt(a.AutoRecharge.Threshold, 10),
		"recharge_amount", strconv.FormatInt(a.AutoRecharge.Amount, 10),
		"low_balance", strconv.FormatInt(a.LowBalance, 10),
	}
}

// acctPermissionFields are the hash fields of an account's permissions.
func acctPermissionFields(p accounts.Permissions) []any {
	return []any{"perm_granted", strings.Join(p.Granted, ","), "perm_enabled", strings.Join(p.Enabled, ",")}
}

// acctCreateFields are all the hash fields of a new account.
func acctCreateFields(a *accounts.Account) []any {
	return append([]any{
		"id", a.ID,
		"parent_id", a.ParentID,
		"status", string(a.Status),
		"created_at", strconv.FormatInt(a.CreatedAt.UnixMilli(), 10),
		"balance", "0",
	}, append(acctSettingFields(a), acctPermissionFields(a.Permissions)...)...)
}

// creditReply turns a refusal of acct_update.lua about the credit limit
// into an error naming the field; nil for any other reply.
func creditReply(cur *accounts.Account, limit int64, h []string) error {
	num := func(i int) int64 {
		if i >= len(h) {
			return 0
		}
		v, _ := strconv.ParseInt(h[i], 10, 64)
		return v
	}
	switch h[0] {
	case "!owes":
		bal, held := num(1), num(2)
		if held > 0 {
			return accounts.Invalidf("credit_limit: account %s extends %s of credit to its sub-accounts and has a balance of %s; lower their credit limits or credit it first",
				cur.ID, accounts.FormatMoney(held, cur.Currency), accounts.FormatMoney(bal, cur.Currency))
		}
		return accounts.Invalidf("credit_limit: account %s owes %s, more than a credit limit of %s; credit it first",
			cur.ID, accounts.FormatMoney(-bal, cur.Currency), accounts.FormatMoney(num(3), cur.Currency))
	case "!parent":
		return &accounts.CreditError{Parent: cur.ParentID, Available: num(1), Want: num(2), Currency: cur.Currency}
	}
	return nil
}
