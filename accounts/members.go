package accounts

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// User errors, tested with errors.Is. The wrapped text after the sentinel
// names the field and the value, for the API's problem detail.
var (
	ErrEmailTaken     = errors.New("a user with this email exists")
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrTooManyAttempts: LoginMaxFailures wrong passwords for an email
	// within LoginFailureWindow; logins for it are refused until the window
	// Has passed, right password or not.
	ErrTooManyAttempts = errors.New("too many failed logins: try again later")
	ErrNotMember       = errors.New("not a member of the account")
	ErrAlreadyMember   = errors.New("already a member of the account")
	ErrLastAdmin       = errors.New("the account's last admin")
	ErrOwnerNotAdmin   = errors.New("the owner must be an admin")
	ErrRoleAbove       = errors.New("the member's role is above the caller's")
	ErrInvitePending   = errors.New("an invitation is pending")
	ErrInvitationGone  = errors.New("the invitation can no longer be accepted")
	ErrInvitationTaken = errors.New("the invitation was already accepted")
)

// Password rules: bcrypt reads at most 72 bytes, and refuses longer input.
const (
	MinPasswordLen      = 10
	MaxPasswordLen      = 72
	DefaultPasswordCost = 12
	// SessionTTL is how long a login session key works.
	SessionTTL = 12 * time.Hour
	// DummyPasswordHash is a bcrypt hash (cost 12) of a password nobody uses:
	// Login compares against it when the email is unknown, so that unknown
	// emails cost as much time as wrong passwords.
	DummyPasswordHash = "$2a$12$Hmfx9Od8Iukn9wQeSzSQT.GL5U6WHV86q.zJv9f3uunqL29WBwi26"
)

// User is a person who logs in. The password hash never leaves the store.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Member is a user's membership of an account.
type Member struct {
	AccountID string    `json:"account_id"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Owner     bool      `json:"owner"`
	JoinedAt  time.Time `json:"joined_at,omitzero"`
}

// MemberUpdate is a change to a member. Zero fields leave things as they are.
type MemberUpdate struct {
	Role  Role  // new role; empty: unchanged
	Owner *bool // make the member the account's owner (un-owning the previous one), or not
	// MaxRole, if set, is the caller's role: a member whose current role
	// ranks above it is not touched (ErrRoleAbove). The new role is the
	// caller's to check.
	MaxRole Role
}

// RoleRank orders roles: a higher rank may do everything a lower one may.
// Unknown roles rank 0.
func RoleRank(r Role) int {
	switch r {
	case RoleParentAdmin:
		return 4
	case RoleSubAdmin:
		return 3
	case RoleAdvanced:
		return 2
	case RoleBasic:
		return 1
	}
	return 0
}

// IsAdmin reports whether r administers an account (and so may own it).
func (r Role) IsAdmin() bool { return r == RoleParentAdmin || r == RoleSubAdmin }

// Login throttling, within LoginFailureWindow: at most
// LoginMaxSourceFailures wrong passwords from one source address (an IPv4
// address, an IPv6 /64), whatever the email; and at most LoginMaxFailures
// per email from sources that have not logged in as that user within
// LoginKnownSourceTTL. A source the user logged in from recently neither
// counts towards nor is stopped by the per-email lock, so that an attacker
// elsewhere cannot lock the user out.
const (
	LoginMaxFailures       = 10
	LoginMaxSourceFailures = 30
	LoginFailureWindow     = 15 * time.Minute
	LoginKnownSourceTTL    = 30 * 24 * time.Hour
)

type actingUserKey struct{}

// WithActingUser returns ctx saying that the request is signed in as user
// id (a user's own session or personal key): an invitation to that user's
// email is accepted by them without their password.
func WithActingUser(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, actingUserKey{}, id)
}

// ActingUser is the user a request is signed in as, "" if none.
func ActingUser(ctx context.Context) string {
	s, _ := ctx.Value(actingUserKey{}).(string)
	return s
}

type loginSourceKey struct{}

// WithLoginSource returns ctx carrying the network address a login comes
// from (the HTTP client's or the SMTP client's IP), for the throttle.
func WithLoginSource(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, loginSourceKey{}, ip)
}

// LoginSource is the throttled source of the login in ctx: the IPv4
// address, or the /64 of an IPv6 one (a host has a whole /64); "" when
// unknown.
func LoginSource(ctx context.Context) string {
	s, _ := ctx.Value(loginSourceKey{}).(string)
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return a.String()
}

// Invitation states.
const (
	InvitePending  = "pending"
	InviteAccepted = "accepted"
	InviteRevoked  = "revoked"
)

// Invitation invites an email to become a member of an account with a role.
// Its token is never stored, only its hash.
type Invitation struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	CreatedBy string    `json:"created_by,omitempty"` // the inviting user id, or key id
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Status    string    `json:"status"`
}

// InvitationRequest is what CreateInvitation needs.
type InvitationRequest struct {
	AccountID string
	Email     string
	Role      Role
	CreatedBy string
	TTL       time.Duration // zero: InvitationTTL; at most 30 days
}

// Acceptance is the result of accepting an invitation.
type Acceptance struct {
	User    *User   `json:"user"`
	Member  *Member `json:"member"`
	NewUser bool    `json:"new_user"`
}
