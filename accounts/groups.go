package accounts

import (
	_ "embed"
	"errors"
	"strings"
	"time"
)

// Group is a named set of an account's contacts.
type Group struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Members   int    `json:"members"`
	// SharedWith are the sub-accounts the group is shared with (groups of
	// root accounts only).
	SharedWith []string  `json:"shared_with"`
	CreatedAt  time.Time `json:"created_at"`
}

// Errors of groups, tested with errors.Is.
var (
	// ErrGroupExists: the account has a group of that name.
	ErrGroupExists = errors.New("group exists")
	// ErrReadOnly: the group is the parent's, shared with the account
	// read-only.
	ErrReadOnly = errors.New("shared group is read-only")
)

// NormGroupName is the form in which group names are compared: lower
// case, runs of ' ', '.', '-' and '_' as one '-', trimmed of them.
func NormGroupName(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if r == ' ' || r == '.' || r == '-' || r == '_' {
			sep = b.Len() > 0
			continue
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// MembersChange is the outcome of AddGroupMembers or RemoveGroupMembers.
type MembersChange struct {
	Changed int      `json:"changed"`           // members added or removed
	Members int      `json:"members"`           // members now
	Created int      `json:"contacts_created"`  // contacts created for numbers given
	Unknown []string `json:"unknown,omitempty"` // contact ids not of the account
}
