package members

import (
	"context"
	"errors"
	"fmt"

	"github.com/smsgate/smsgate/accounts"
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
	return s.CreateRelayKeyBy(ctx, accountID, name, nil)
}

// CreateRelayKeyBy is CreateRelayKey recording its creator, as CreateKeyBy.
func (s *Store) CreateRelayKeyBy(ctx context.Context, accountID, name string, by *accounts.KeyCreator) (secret string, key *accounts.APIKey, err error) {
	// The role is unused: the API refuses relay keys.
	return s.createKey(ctx, accountID, accounts.RoleBasic, name, accounts.ScopeSMTPRelay, by)
}
