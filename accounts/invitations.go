package accounts

import (
	_ "embed"
	"time"
)

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
