package accounts

// ScopeSMTPRelay is the scope of a relay key (APIKey.Scope): an SMTP AUTH
// credential for one mail relay (an Exchange connector, a Postfix
// smarthost) that serves an account and its sub-accounts. The HTTP API
// refuses it.
const ScopeSMTPRelay = "smtp_relay"

// Identity kinds: what an SMTP client authenticated with.
const (
	IdentityUserPassword = "user_password" // a user's email and password
	IdentityUserKey      = "user_key"      // a user's personal API key (or login session)
	IdentityAccountKey   = "account_key"   // an account's API key
	IdentityRelay        = "relay"         // a relay key (ScopeSMTPRelay)
)

// Identity is who authenticated on an SMTP session.
type Identity struct {
	Kind string
	// AccountID is the account the key belongs to; empty for a user's
	// password, which is good for each account in Memberships.
	AccountID string
	KeyID     string // the key's id; empty for a password
	UserID    string // a user's credentials: the user
	UserEmail string
	// Memberships are the user's accounts and roles (a password only).
	Memberships map[string]Role
}

// IsUser reports whether the identity is a user's (their password or
// personal key): mail is then sent as that user, attributed to their email.
func (id *Identity) IsUser() bool {
	return id.Kind == IdentityUserPassword || id.Kind == IdentityUserKey
}

// MaySendAs reports whether the identity may send mail for acct: a key for
// its own account; a relay key for its account and that account's direct
// sub-accounts; a user for an account they are a member of (any role may
// send; the account's access_sms permission is checked when the mail is
// accepted). A parent's administrator sends as the parent, not as a child,
// as in the API.
func (id *Identity) MaySendAs(acct *Account) bool {
	if id == nil || acct == nil {
		return false
	}
	switch id.Kind {
	case IdentityAccountKey, IdentityUserKey:
		return acct.ID == id.AccountID
	case IdentityRelay:
		return acct.ID == id.AccountID || acct.ParentID != "" && acct.ParentID == id.AccountID
	case IdentityUserPassword:
		_, ok := id.Memberships[acct.ID]
		return ok
	}
	return false
}
