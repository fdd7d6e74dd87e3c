package members

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

// keyPrefix starts every API key secret: "sgk_<key id>_<random>". The
// Prefix makes leaked keys easy to find with secret scanners.
const keyPrefix = "sgk_"

// CreateKey creates an API key for an account and returns its secret, which
// is shown once and never stored: "sgk_" + key id + "_" + 160 random bits.
// Only the SHA-256 of the secret is kept. A fast hash is right here, unlike
// for passwords: the secret is 160 bits of randomness, so there is nothing a
// slow hash would protect against guessing, and Authenticate runs per API
// call. A parent_admin key can only belong to a root account. Role basic
// is for users only (its own-data rule needs a user): ErrInvalid. The key
// is the operator's (no creator); CreateKeyBy records who made it.
func (s *Store) CreateKey(ctx context.Context, accountID string, role accounts.Role, name string) (secret string, key *accounts.APIKey, err error) {
	return s.CreateKeyBy(ctx, accountID, role, name, nil)
}

// CreateKeyBy is CreateKey for a key created by someone (by): the creator
// is recorded and shown by ListKeys, and removing the creating user from
// the account of their membership (by.AccountID) revokes the key.
func (s *Store) CreateKeyBy(ctx context.Context, accountID string, role accounts.Role, name string, by *accounts.KeyCreator) (secret string, key *accounts.APIKey, err error) {
	switch {
	case !role.Valid():
		return "", nil, accounts.Invalidf("role: unknown role %q", role)
	case role == accounts.RoleBasic:
		return "", nil, accounts.Invalidf("role: basic is a user's role (a basic user sees only their own messages, replies and statistics, which needs a user): give an account key role advanced or higher, or invite the user")
	}
	return s.createKey(ctx, accountID, role, name, "", by)
}

// createKey stores a new account key with role and scope ("" or
// ScopeSMTPRelay), created by by (nil: the operator), and returns its
// secret.
func (s *Store) createKey(ctx context.Context, accountID string, role accounts.Role, name, scope string, by *accounts.KeyCreator) (secret string, key *accounts.APIKey, err error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > accounts.MaxNameLen || !utf8.ValidString(name) {
		return "", nil, accounts.Invalidf("name: longer than %d characters", accounts.MaxNameLen)
	}
	if err := accounts.CheckName("name", name); err != nil {
		return "", nil, err
	}
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return "", nil, fmt.Errorf("create key: %w", err)
	}
	if role == accounts.RoleParentAdmin && a.ParentID != "" {
		return "", nil, accounts.Invalidf("role: %s keys belong to a parent account, %s is a sub-account", role, a.ID)
	}
	k := &accounts.APIKey{
		ID:        store.NewID("k", 6),
		AccountID: a.ID,
		Role:      role,
		Name:      name,
		CreatedAt: time.UnixMilli(s.Now().UnixMilli()),
		Scope:     scope,
		CreatedBy: by,
	}
	secret = keyPrefix + k.ID + "_" + store.RandomSecret(20)
	shard, _ := s.ShardFromID(a.ID)
	// Listed first (with the account, and with its creator's membership),
	// then made usable: a crash in between leaves a listed id that
	// authenticates nothing, never a working key nobody can see or revoke,
	// nor one that outlives its creator.
	if scope == "" { // relay keys are the operator's or a root admin's, few by nature
		q, err := s.QuotasOf(ctx, a.ID)
		if err != nil {
			return "", nil, err
		}
		n, err := s.RDB.SCard(ctx, s.Keys.APIKeys(shard, a.ID)).Result()
		if err != nil {
			return "", nil, fmt.Errorf("create key: %w", err)
		}
		if n >= q.Keys {
			return "", nil, &accounts.QuotaError{Account: a.ID, Quota: accounts.QuotaKeys, Limit: q.Keys, Used: n, Want: 1}
		}
	}
	var creatorTag string // the creator's membership: the key lives as long as it
	pipe := s.RDB.TxPipeline()
	pipe.SAdd(ctx, s.Keys.APIKeys(shard, a.ID), k.ID)
	if by != nil && by.UserID != "" {
		if _, creatorTag, err = s.userMembership(ctx, by.AccountID, by.UserID); err != nil {
			return "", nil, fmt.Errorf("create key: creator %s: %w", by.UserID, err)
		}
		cs, _ := s.ShardFromID(by.AccountID)
		pipe.SAdd(ctx, s.Keys.CreatedKeys(cs, by.AccountID, by.UserID), k.ID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return "", nil, fmt.Errorf("create key: %w", err)
	}
	fields := []any{
		"account_id", k.AccountID,
		"role", string(k.Role),
		"name", k.Name,
		"hash", KeyHash(secret),
		"created_at", strconv.FormatInt(k.CreatedAt.UnixMilli(), 10),
	}
	if scope != "" {
		fields = append(fields, "scope", scope)
	}
	if by != nil {
		fields = append(fields, "creator_user", by.UserID, "creator_email", by.UserEmail,
			"creator_acct", by.AccountID, "creator_key", by.KeyID, "creator_membership", creatorTag)
	}
	err = s.RDB.HSet(ctx, s.Keys.APIKey(k.ID), fields...).Err()
	if err != nil {
		return "", nil, fmt.Errorf("create key: %w", err)
	}
	return secret, k, nil
}

// Authenticate returns the key whose secret this is. Anything wrong with the
// secret (malformed, unknown, revoked, altered, expired, or a user's key
// whose membership has ended) is ErrBadKey; a user's key carries the user's
// current role in the account (see CreateUserKey); a key of a
// deactivated account (or of a sub-account whose parent is deactivated) is
// ErrDeactivated.
func (s *Store) Authenticate(ctx context.Context, secret string) (*accounts.APIKey, error) {
	id, ok := KeyParse(secret)
	if !ok {
		return nil, accounts.ErrBadKey
	}
	h, err := s.RDB.HGetAll(ctx, s.Keys.APIKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	want := h["hash"]
	got := KeyHash(secret)
	if len(h) == 0 || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, accounts.ErrBadKey
	}
	k, err := keyFromHash(id, h)
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	now := s.Now()
	if !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
		return nil, accounts.ErrBadKey
	}
	if now.Sub(k.LastUsedAt) >= keyTouchEvery {
		// At most one write a minute per key; never resurrects a key revoked
		// meanwhile. Best effort: a failure only leaves last_used_at older,
		// and must not refuse a valid key.
		_ = s.Run(ctx, keyTouchScript, []string{s.Keys.APIKey(id)}, now.UnixMilli()).Err()
		k.LastUsedAt = time.UnixMilli(now.UnixMilli())
	}
	_, err = s.AcctActive(ctx, k.AccountID)
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		return nil, accounts.ErrBadKey
	case err != nil:
		return nil, fmt.Errorf("authenticate key %s: %w", id, err)
	}
	if k.UserID == "" {
		// An account key: its role is fixed; one a user created lives as
		// long as the membership they created it through.
		if c := k.CreatedBy; c != nil && c.UserID != "" {
			_, tag, err := s.userMembership(ctx, c.AccountID, c.UserID)
			switch {
			case errors.Is(err, accounts.ErrNotMember):
				return nil, accounts.ErrBadKey
			case err != nil:
				return nil, fmt.Errorf("authenticate key %s: %w", id, err)
			case subtle.ConstantTimeCompare([]byte(tag), []byte(h["creator_membership"])) != 1:
				return nil, accounts.ErrBadKey
			}
		}
		return k, nil
	}
	// A user's key: the user's current role in the account, from the
	// membership the key was issued under (a removed and re-invited member
	// Has a new membership, so old keys stay dead).
	role, tag, err := s.userMembership(ctx, k.AccountID, k.UserID)
	switch {
	case errors.Is(err, accounts.ErrNotMember):
		return nil, accounts.ErrBadKey
	case err != nil:
		return nil, fmt.Errorf("authenticate key %s: %w", id, err)
	case subtle.ConstantTimeCompare([]byte(tag), []byte(h["membership"])) != 1:
		return nil, accounts.ErrBadKey
	}
	k.Role = role
	return k, nil
}

// CreateUserKey creates a key bound to a user's membership of an account
// and returns its secret, shown once. The key acts with the member's role
// at each use (see Authenticate) and dies with the membership. A zero
// expiresAt makes a personal key that lasts until revoked, listed with the
// account's keys; login sessions expire and are not listed. ErrNotMember if
// the user is not a member of the account.
func (s *Store) CreateUserKey(ctx context.Context, accountID, userID, name string, expiresAt time.Time) (secret string, key *accounts.APIKey, err error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > accounts.MaxNameLen || !utf8.ValidString(name) {
		return "", nil, accounts.Invalidf("name: longer than %d characters", accounts.MaxNameLen)
	}
	if err := accounts.CheckName("name", name); err != nil {
		return "", nil, err
	}
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return "", nil, fmt.Errorf("create user key: %w", err)
	}
	role, tag, err := s.userMembership(ctx, accountID, userID)
	if err != nil {
		return "", nil, err
	}
	now := time.UnixMilli(s.Now().UnixMilli())
	k := &accounts.APIKey{
		ID:        store.NewID("k", 6),
		AccountID: accountID,
		Role:      role,
		Name:      name,
		CreatedAt: now,
		UserID:    u.ID,
		UserEmail: u.Email,
	}
	if !expiresAt.IsZero() {
		k.ExpiresAt = time.UnixMilli(expiresAt.UnixMilli())
	}
	secret = keyPrefix + k.ID + "_" + store.RandomSecret(20)
	shard, _ := s.ShardFromID(accountID)
	// Indexed first, then made usable, as in CreateKey. Sessions are indexed
	// only per member (scored by expiry, pruned here), so that logins do not
	// grow the account's key list.
	ukeys := s.Keys.UserAPIKeys(shard, accountID, u.ID)
	pipe := s.RDB.TxPipeline()
	pipe.ZRemRangeByScore(ctx, ukeys, "1", strconv.FormatInt(now.UnixMilli(), 10))
	score := 0.0 // personal keys: never pruned
	if !k.ExpiresAt.IsZero() {
		score = float64(k.ExpiresAt.UnixMilli())
	}
	pipe.ZAdd(ctx, ukeys, redis.Z{Score: score, Member: k.ID})
	if k.ExpiresAt.IsZero() {
		pipe.SAdd(ctx, s.Keys.APIKeys(shard, accountID), k.ID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return "", nil, fmt.Errorf("create user key: %w", err)
	}
	fields := []any{
		"account_id", k.AccountID,
		"role", string(k.Role), // the role at creation; Authenticate uses the current one
		"name", k.Name,
		"hash", KeyHash(secret),
		"created_at", strconv.FormatInt(k.CreatedAt.UnixMilli(), 10),
		"user_id", k.UserID,
		"user_email", k.UserEmail, // emails do not change
		"membership", tag,
	}
	if !k.ExpiresAt.IsZero() {
		fields = append(fields, "expires_at", strconv.FormatInt(k.ExpiresAt.UnixMilli(), 10))
	}
	pipe = s.RDB.TxPipeline()
	pipe.HSet(ctx, s.Keys.APIKey(k.ID), fields...)
	if !k.ExpiresAt.IsZero() {
		// Redis drops a session an hour after it expires.
		pipe.PExpire(ctx, s.Keys.APIKey(k.ID), k.ExpiresAt.Sub(now)+time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return "", nil, fmt.Errorf("create user key: %w", err)
	}
	return secret, k, nil
}

// ListKeys returns an account's keys (never their secrets or hashes), oldest
// first.
func (s *Store) ListKeys(ctx context.Context, accountID string) ([]accounts.APIKey, error) {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	shard, _ := s.ShardFromID(accountID)
	ids, err := s.RDB.SMembers(ctx, s.Keys.APIKeys(shard, accountID)).Result()
	if err != nil {
		return nil, fmt.Errorf("list keys of %s: %w", accountID, err)
	}
	out := []accounts.APIKey{}
	if len(ids) == 0 {
		return out, nil
	}
	pipe := s.RDB.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.Keys.APIKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("list keys of %s: %w", accountID, err)
	}
	for i, c := range cmds {
		h := c.Val()
		if len(h) == 0 || h["account_id"] != accountID {
			continue // revoked, or half-created
		}
		k, err := keyFromHash(ids[i], h)
		if err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		out = append(out, *k)
	}
	slices.SortFunc(out, func(x, y accounts.APIKey) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out, nil
}

// RevokeKey deletes a key of accountID; it stops working at once.
// ErrNotFound if the key does not exist or belongs to another account.
func (s *Store) RevokeKey(ctx context.Context, accountID, keyID string) error {
	if _, err := s.AcctKey(accountID); err != nil {
		return err
	}
	owner, err := s.RDB.HGet(ctx, s.Keys.APIKey(keyID), "account_id").Result()
	if errors.Is(err, redis.Nil) || err == nil && owner != accountID {
		return fmt.Errorf("key %q: %w", keyID, accounts.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", keyID, err)
	}
	if err := s.RDB.Del(ctx, s.Keys.APIKey(keyID)).Err(); err != nil {
		return fmt.Errorf("revoke key %s: %w", keyID, err)
	}
	shard, _ := s.ShardFromID(accountID)
	if err := s.RDB.SRem(ctx, s.Keys.APIKeys(shard, accountID), keyID).Err(); err != nil {
		return fmt.Errorf("revoke key %s: %w", keyID, err)
	}
	return nil
}

// RotateKey replaces the secret of an account's key: the key keeps its id
// (its visible prefix), role, name and owner, the old secret stops working at
// once, and the new one is returned, once. One HSET does it, so there is no
// moment with two valid secrets or none.
func (s *Store) RotateKey(ctx context.Context, accountID, keyID string) (string, *accounts.APIKey, error) {
	if _, err := s.AcctKey(accountID); err != nil {
		return "", nil, err
	}
	h, err := s.RDB.HGetAll(ctx, s.Keys.APIKey(keyID)).Result()
	if err != nil {
		return "", nil, fmt.Errorf("rotate key %s: %w", keyID, err)
	}
	if len(h) == 0 || h["account_id"] != accountID {
		return "", nil, fmt.Errorf("key %q: %w", keyID, accounts.ErrNotFound)
	}
	k, err := keyFromHash(keyID, h)
	if err != nil {
		return "", nil, fmt.Errorf("rotate key %s: %w", keyID, err)
	}
	secret := keyPrefix + keyID + "_" + store.RandomSecret(20)
	// HSET on a key revoked meanwhile would resurrect a bare hash: only
	// write if it still exists (HSETEX-free check: a tiny script).
	ok, err := s.Run(ctx, keyRotateScript, []string{s.Keys.APIKey(keyID)}, accountID, KeyHash(secret)).Int()
	if err != nil {
		return "", nil, fmt.Errorf("rotate key %s: %w", keyID, err)
	}
	if ok == 0 {
		return "", nil, fmt.Errorf("key %q: %w", keyID, accounts.ErrNotFound)
	}
	return secret, k, nil
}

// keyTouchEvery is how often Authenticate records a key's last use.
const keyTouchEvery = time.Minute

var (
	//go:embed lua/key_touch.lua
	keyTouchLua    string
	keyTouchScript = store.NewScript("members/key_touch.lua", keyTouchLua)

	//go:embed lua/key_rotate.lua
	keyRotateLua    string
	keyRotateScript = store.NewScript("members/key_rotate.lua", keyRotateLua)
)

// KeyHash is the stored form of a secret: hex SHA-256.
func KeyHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// KeyParse extracts the key id from "sgk_<id>_<random>".
func KeyParse(secret string) (id string, ok bool) {
	rest, ok := strings.CutPrefix(secret, keyPrefix)
	if !ok {
		return "", false
	}
	id, random, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 11 || id[0] != 'k' || len(random) != 32 {
		return "", false
	}
	return id, true
}

func keyFromHash(id string, h map[string]string) (*accounts.APIKey, error) {
	ms, err := strconv.ParseInt(h["created_at"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("key %s: field created_at: %w", id, err)
	}
	k := &accounts.APIKey{
		ID:        id,
		AccountID: h["account_id"],
		Role:      accounts.Role(h["role"]),
		Name:      h["name"],
		CreatedAt: time.UnixMilli(ms),
		UserID:    h["user_id"],
		UserEmail: h["user_email"],
		Scope:     h["scope"],
	}
	if _, ok := h["creator_key"]; ok {
		k.CreatedBy = &accounts.KeyCreator{UserID: h["creator_user"], UserEmail: h["creator_email"],
			AccountID: h["creator_acct"], KeyID: h["creator_key"]}
	}
	if v := h["last_used"]; v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			k.LastUsedAt = time.UnixMilli(ms)
		}
	}
	if v := h["expires_at"]; v != "" {
		exp, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("key %s: field expires_at: %w", id, err)
		}
		k.ExpiresAt = time.UnixMilli(exp)
	}
	return k, nil
}

// revokeCreated revokes the account keys that userID created as a member of
// accountID, wherever they are (the account or its sub-accounts).
func (s *Store) revokeCreated(ctx context.Context, shard int, accountID, userID string) error {
	idx := s.Keys.CreatedKeys(shard, accountID, userID)
	ids, err := s.RDB.SMembers(ctx, idx).Result()
	if err != nil {
		return fmt.Errorf("keys created by %s: %w", userID, err)
	}
	for _, id := range ids {
		owner, err := s.RDB.HGet(ctx, s.Keys.APIKey(id), "account_id").Result()
		if errors.Is(err, redis.Nil) {
			continue // revoked already
		}
		if err != nil {
			return fmt.Errorf("key %s created by %s: %w", id, userID, err)
		}
		if err := s.RevokeKey(ctx, owner, id); err != nil && !errors.Is(err, accounts.ErrNotFound) {
			return fmt.Errorf("key %s created by %s: %w", id, userID, err)
		}
	}
	if err := s.RDB.Del(ctx, idx).Err(); err != nil {
		return fmt.Errorf("keys created by %s: %w", userID, err)
	}
	return nil
}
