package accounts

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Account defaults applied by CreateAccount and UpdateAccount.
const (
	acctDefaultCountry  = "US"
	acctDefaultCurrency = "USD"
	acctDefaultMaxParts = 10
	// acctMaxMaxParts is the most parts a concatenated SMS can have: the
	// concatenation header counts parts in one octet (3GPP TS 23.040 §9.2.3.24.1).
	acctMaxMaxParts = 255
	acctMaxNameLen  = 100
)

var (
	//go:embed lua/acct_create_sub.lua
	acctCreateSubLua    string
	acctCreateSubScript = redis.NewScript(acctCreateSubLua)

	//go:embed lua/acct_update.lua
	acctUpdateLua    string
	acctUpdateScript = redis.NewScript(acctUpdateLua)
)

// acctInvalid returns an error wrapping ErrInvalid whose text names the
// field, e.g. "invalid: name: required".
func acctInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// CreateAccount validates a and stores it as a new account, returning the
// stored account (with its id, defaults and a zero balance; a.Balance and
// a.ID are ignored).
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
func (s *Store) CreateAccount(ctx context.Context, a Account) (*Account, error) {
	a.ID, a.Balance = "", 0
	var parent *Account
	if a.ParentID != "" {
		p, err := s.GetAccount(ctx, a.ParentID)
		if errors.Is(err, ErrNotFound) {
			return nil, acctInvalid("parent_id: account %q not found", a.ParentID)
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
		a.Status = StatusActive
	}
	if a.Status != StatusActive && a.Status != StatusDeactivated {
		return nil, acctInvalid("status: unknown status %q", a.Status)
	}
	// Permission flags (flags.go): a sub-account given none gets the
	// defaults; given ones are validated. A root has every flag.
	if a.ParentID != "" && len(a.Permissions.Granted) == 0 && len(a.Permissions.Enabled) == 0 {
		a.Permissions = DefaultPermissions()
	}
	perms, err := NormPermissions(a.Permissions)
	if err != nil {
		return nil, err
	}
	if len(perms.Enabled) > 0 && len(perms.Granted) == 0 {
		return nil, acctInvalid("enabled: flag %s is not granted", perms.Enabled[0])
	}
	a.Permissions = perms
	if err := acctNormalize(&a); err != nil {
		return nil, err
	}
	a.CreatedAt = time.UnixMilli(s.now().UnixMilli())

	if parent == nil {
		shard := rand.IntN(s.shards)
		a.ID = newShardedID("a", shard)
		if err := s.rdb.HSet(ctx, s.skey(shard, "acct", a.ID), acctCreateFields(&a)...).Err(); err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
		// Listed only once stored: a crash in between leaves an unlisted
		// record, never a listed id without one.
		if err := s.rdb.SAdd(ctx, s.gkey("accounts"), a.ID).Err(); err != nil {
			return nil, fmt.Errorf("create account: list %s: %w", a.ID, err)
		}
		return &a, nil
	}

	if parent.ParentID != "" {
		return nil, acctInvalid("parent_id: %s is a sub-account; nesting is one level deep", parent.ID)
	}
	if parent.Status != StatusActive {
		return nil, acctInvalid("parent_id: account %s is deactivated", parent.ID)
	}
	if a.Currency != parent.Currency {
		return nil, acctInvalid("currency: %q differs from the parent's %q", a.Currency, parent.Currency)
	}
	shard, _ := s.shardFromID(parent.ID) // valid: GetAccount succeeded
	a.ID = newShardedID("a", shard)
	keys := []string{s.skey(shard, "acct", parent.ID), s.skey(shard, "acct", a.ID), s.skey(shard, "subs", parent.ID)}
	res, err := acctCreateSubScript.Run(ctx, s.rdb, keys, acctCreateFields(&a)...).Text()
	if err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	switch res {
	case "ok":
		return &a, nil
	case "notfound":
		return nil, acctInvalid("parent_id: account %q not found", parent.ID)
	case "nested":
		return nil, acctInvalid("parent_id: %s is a sub-account; nesting is one level deep", parent.ID)
	default: // "deactivated"
		return nil, acctInvalid("parent_id: account %s is deactivated", parent.ID)
	}
}

// GetAccount returns the account with id. Unknown and malformed ids give
// ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (*Account, error) {
	key, err := s.acctKey(id)
	if err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("get account %s: %w", id, err)
	}
	return acctFromHash(id, h)
}

// UpdateAccount stores the settings of a (name, contact email, country,
// price, limits, policies, sender id), validated as in CreateAccount. It
// never changes the balance, parent, status, currency (it denominates the
// ledger; a different non-empty value is ErrInvalid) or creation time. On
// success a is refreshed from the stored record. ErrNotFound if a.ID is
// unknown.
func (s *Store) UpdateAccount(ctx context.Context, a *Account) error {
	key, err := s.acctKey(a.ID)
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
		return acctInvalid("currency: cannot change from %q", cur.Currency)
	}
	if err := acctNormalize(&u); err != nil {
		return err
	}
	h, err := acctUpdateScript.Run(ctx, s.rdb, []string{key}, acctSettingFields(&u)...).StringSlice()
	if err != nil {
		return fmt.Errorf("update account %s: %w", a.ID, err)
	}
	if len(h) == 0 {
		return fmt.Errorf("update account %q: %w", a.ID, ErrNotFound)
	}
	m := make(map[string]string, len(h)/2)
	for i := 0; i+1 < len(h); i += 2 {
		m[h[i]] = h[i+1]
	}
	stored, err := acctFromHash(a.ID, m)
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	*a = *stored
	return nil
}

// ListAccounts returns the root (parent) accounts, sorted by name.
func (s *Store) ListAccounts(ctx context.Context) ([]*Account, error) {
	ids, err := s.rdb.SMembers(ctx, s.gkey("accounts")).Result()
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return s.acctLoadMany(ctx, ids)
}

// ListSubAccounts returns the sub-accounts of parentID, sorted by name.
// ErrNotFound if the parent does not exist.
func (s *Store) ListSubAccounts(ctx context.Context, parentID string) ([]*Account, error) {
	if _, err := s.GetAccount(ctx, parentID); err != nil {
		return nil, fmt.Errorf("list sub-accounts: %w", err)
	}
	shard, _ := s.shardFromID(parentID)
	ids, err := s.rdb.SMembers(ctx, s.skey(shard, "subs", parentID)).Result()
	if err != nil {
		return nil, fmt.Errorf("list sub-accounts of %s: %w", parentID, err)
	}
	return s.acctLoadMany(ctx, ids)
}

// SetStatus activates or deactivates an account. Deactivating a parent
// stops its sub-accounts too (checked where they are used) without
// changing their own status.
func (s *Store) SetStatus(ctx context.Context, id string, st Status) error {
	if st != StatusActive && st != StatusDeactivated {
		return acctInvalid("status: unknown status %q", st)
	}
	key, err := s.acctKey(id)
	if err != nil {
		return err
	}
	// The update script writes only if the record exists.
	h, err := acctUpdateScript.Run(ctx, s.rdb, []string{key}, "status", string(st)).StringSlice()
	if err != nil {
		return fmt.Errorf("set status of %s: %w", id, err)
	}
	if len(h) == 0 {
		return fmt.Errorf("set status: account %q: %w", id, ErrNotFound)
	}
	return nil
}

// acctActive loads an account and fails with ErrDeactivated if it or its
// parent is deactivated.
func (s *Store) acctActive(ctx context.Context, id string) (*Account, error) {
	a, err := s.GetAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status != StatusActive {
		return nil, fmt.Errorf("account %s: %w", a.ID, ErrDeactivated)
	}
	if a.ParentID != "" {
		key, err := s.acctKey(a.ParentID)
		if err != nil {
			return nil, fmt.Errorf("account %s: parent: %w", a.ID, err)
		}
		st, err := s.rdb.HGet(ctx, key, "status").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("account %s: parent status: %w", a.ID, err)
		}
		if Status(st) != StatusActive {
			return nil, fmt.Errorf("account %s: parent %s: %w", a.ID, a.ParentID, ErrDeactivated)
		}
	}
	return a, nil
}

// acctKey returns the hash key of account id, or ErrNotFound for an id that
// is not an account id of this deployment.
func (s *Store) acctKey(id string) (string, error) {
	if !strings.HasPrefix(id, "a") {
		return "", fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
	shard, err := s.shardFromID(id)
	if err != nil {
		return "", err
	}
	return s.skey(shard, "acct", id), nil
}

// acctLoadMany loads the accounts named by ids in one pipeline, skips ids
// without a record, and sorts by name then id.
func (s *Store) acctLoadMany(ctx context.Context, ids []string) ([]*Account, error) {
	pipe := s.rdb.Pipeline()
	cmds := make(map[string]*redis.MapStringStringCmd, len(ids))
	for _, id := range ids {
		key, err := s.acctKey(id)
		if err != nil {
			continue
		}
		cmds[id] = pipe.HGetAll(ctx, key)
	}
	if len(cmds) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("load accounts: %w", err)
		}
	}
	out := make([]*Account, 0, len(cmds))
	for id, c := range cmds {
		a, err := acctFromHash(id, c.Val())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y *Account) int {
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out, nil
}

// acctNormalize trims a's settings, applies defaults and validates them.
func acctNormalize(a *Account) error {
	a.Name = strings.TrimSpace(a.Name)
	switch {
	case a.Name == "":
		return acctInvalid("name: required")
	case utf8.RuneCountInString(a.Name) > acctMaxNameLen:
		return acctInvalid("name: longer than %d characters", acctMaxNameLen)
	case !utf8.ValidString(a.Name):
		return acctInvalid("name: not valid UTF-8")
	}
	a.ContactEmail = strings.TrimSpace(a.ContactEmail)
	if a.ContactEmail != "" {
		addr, err := mail.ParseAddress(a.ContactEmail)
		if err != nil {
			return acctInvalid("contact_email: %q is not an email address", a.ContactEmail)
		}
		a.ContactEmail = addr.Address
	}
	a.DefaultCountry = strings.ToUpper(strings.TrimSpace(a.DefaultCountry))
	if a.DefaultCountry == "" {
		a.DefaultCountry = acctDefaultCountry
	}
	if !acctUpperLetters(a.DefaultCountry, 2) {
		return acctInvalid("default_country: unknown country %q", a.DefaultCountry)
	}
	if a.PricePerPart < 0 {
		return acctInvalid("price_per_part: negative")
	}
	if a.PricePerPart > moneyMaxAmount {
		return acctInvalid("price_per_part: larger than %d", int64(moneyMaxAmount))
	}
	a.Currency = strings.ToUpper(strings.TrimSpace(a.Currency))
	if a.Currency == "" {
		a.Currency = acctDefaultCurrency
	}
	if !acctUpperLetters(a.Currency, 3) {
		return acctInvalid("currency: %q is not an ISO 4217 code", a.Currency)
	}
	if a.MaxParts == 0 {
		a.MaxParts = acctDefaultMaxParts
	}
	if a.MaxParts < 1 || a.MaxParts > acctMaxMaxParts {
		return acctInvalid("max_parts: %d is not between 1 and %d", a.MaxParts, acctMaxMaxParts)
	}
	switch a.LongMessage {
	case "":
		a.LongMessage = LongReject
	case LongReject, LongTruncate:
	default:
		return acctInvalid("long_message: %q is not %q or %q", a.LongMessage, LongReject, LongTruncate)
	}
	switch a.SubjectMode {
	case "":
		a.SubjectMode = SubjectIgnore
	case SubjectIgnore, SubjectPrepend:
	default:
		return acctInvalid("subject_mode: %q is not %q or %q", a.SubjectMode, SubjectIgnore, SubjectPrepend)
	}
	a.SenderID = strings.TrimSpace(a.SenderID)
	if a.SenderID != "" && !acctValidSenderID(a.SenderID) {
		return acctInvalid("sender_id: %q is neither a number of up to 15 digits nor up to 11 letters and digits", a.SenderID)
	}
	switch a.Billing {
	case "":
		a.Billing = BillingPrepaid
	case BillingPrepaid, BillingPostpaid:
	default:
		return acctInvalid("billing: %q is not %q or %q", a.Billing, BillingPrepaid, BillingPostpaid)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"credit_limit", a.CreditLimit}, {"auto_recharge.threshold", a.AutoRecharge.Threshold},
		{"auto_recharge.amount", a.AutoRecharge.Amount}, {"low_balance_threshold", a.LowBalance}} {
		if f.v < 0 || f.v > moneyMaxAmount {
			return acctInvalid("%s: %d is not between 0 and %d", f.name, f.v, int64(moneyMaxAmount))
		}
	}
	if a.Billing == BillingPrepaid && a.CreditLimit != 0 {
		return acctInvalid("credit_limit: only postpaid accounts have one")
	}
	if a.AutoRecharge.Amount > 0 && a.ParentID == "" {
		return acctInvalid("auto_recharge: only sub-accounts recharge, from their parent")
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

// acctSettingFields are the hash fields UpdateAccount may change.
func acctSettingFields(a *Account) []any {
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
func acctPermissionFields(p Permissions) []any {
	return []any{"perm_granted", strings.Join(p.Granted, ","), "perm_enabled", strings.Join(p.Enabled, ",")}
}

// acctSplit splits a stored comma list; empty is none.
func acctSplit(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ",")
}

// acctCreateFields are all the hash fields of a new account.
func acctCreateFields(a *Account) []any {
	return append([]any{
		"id", a.ID,
		"parent_id", a.ParentID,
		"status", string(a.Status),
		"created_at", strconv.FormatInt(a.CreatedAt.UnixMilli(), 10),
		"balance", "0",
	}, append(acctSettingFields(a), acctPermissionFields(a.Permissions)...)...)
}

// acctFromHash decodes an account hash; an empty hash is ErrNotFound.
func acctFromHash(id string, h map[string]string) (*Account, error) {
	if len(h) == 0 || h["id"] == "" || Status(h["status"]) == StatusDeleted { // deleted: invisible (lifecycle.go)
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
		Permissions:    Permissions{Granted: acctSplit(h["perm_granted"]), Enabled: acctSplit(h["perm_enabled"])},
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
	a.AutoRecharge = AutoRecharge{Threshold: opt("recharge_threshold"), Amount: opt("recharge_amount")}
	a.LowBalance = opt("low_balance")
	if err != nil {
		return nil, err
	}
	return a, nil
}
