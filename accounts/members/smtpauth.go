package members

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

// AuthenticateSMTP checks the user name and password an SMTP client gave
// with AUTH. A password that is an API key ("sgk_...") is the key, whatever
// the user name: an account key, a user's personal key, or a relay key. Any
// other password is a user's, with their email as the user name, checked
// with the same per-email throttle and bcrypt work as the API's login. A
// credential that is wrong in any way is accounts.ErrBadKey (which part is
// never said); a throttled email is accounts.ErrTooManyAttempts.
func (s *Store) AuthenticateSMTP(ctx context.Context, username, password string) (*accounts.Identity, error) {
	if _, ok := KeyParse(password); ok {
		k, err := s.Authenticate(ctx, password)
		if err != nil {
			return nil, err
		}
		id := &accounts.Identity{Kind: accounts.IdentityAccountKey, AccountID: k.AccountID, KeyID: k.ID}
		switch {
		case k.Scope == accounts.ScopeSMTPRelay:
			id.Kind = accounts.IdentityRelay
		case k.UserID != "":
			id.Kind, id.UserID, id.UserEmail = accounts.IdentityUserKey, k.UserID, k.UserEmail
		}
		return id, nil
	}
	u, err := s.checkPassword(ctx, username, password)
	switch {
	case errors.Is(err, accounts.ErrBadCredentials):
		return nil, accounts.ErrBadKey
	case err != nil:
		return nil, err
	}
	ids, err := s.UserAccounts(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("smtp auth: %w", err)
	}
	id := &accounts.Identity{Kind: accounts.IdentityUserPassword, UserID: u.ID, UserEmail: u.Email, Memberships: map[string]accounts.Role{}}
	for _, acct := range ids {
		role, _, err := s.userMembership(ctx, acct, u.ID)
		if err != nil {
			continue // ended meanwhile
		}
		id.Memberships[acct] = role
	}
	return id, nil
}

// CreateRelayKey creates a relay key (scope smtp_relay) for an account and
// returns its secret, shown once: an SMTP AUTH password for one mail relay
// that sends for the account and its sub-accounts. The HTTP API refuses it.
func (s *Store) CreateRelayKey(ctx context.Context, accountID, name string) (secret string, key *accounts.APIKey, err error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > accounts.MaxNameLen || !utf8.ValidString(name) {
		return "", nil, accounts.Invalidf("name: longer than %d characters", accounts.MaxNameLen)
	}
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return "", nil, fmt.Errorf("create relay key: %w", err)
	}
	k := &accounts.APIKey{
		ID:        store.NewID("k", 6),
		AccountID: a.ID,
		Role:      accounts.RoleBasic, // unused: the API refuses relay keys
		Name:      name,
		CreatedAt: time.UnixMilli(s.Now().UnixMilli()),
		Scope:     accounts.ScopeSMTPRelay,
	}
	secret = keyPrefix + k.ID + "_" + store.RandomSecret(20)
	shard, _ := s.ShardFromID(a.ID)
	// Listed first, then made usable, as in CreateKey.
	if err := s.RDB.SAdd(ctx, s.Keys.APIKeys(shard, a.ID), k.ID).Err(); err != nil {
		return "", nil, fmt.Errorf("create relay key: %w", err)
	}
	err = s.RDB.HSet(ctx, s.Keys.APIKey(k.ID),
		"account_id", k.AccountID,
		"role", string(k.Role),
		"name", k.Name,
		"hash", KeyHash(secret),
		"created_at", strconv.FormatInt(k.CreatedAt.UnixMilli(), 10),
		"scope", k.Scope,
	).Err()
	if err != nil {
		return "", nil, fmt.Errorf("create relay key: %w", err)
	}
	return secret, k, nil
}
