// Package members is the part of the Redis store that owns the people and
// credentials of an account: users (bcrypt passwords, login throttling),
// memberships with their roles, invitations, and API keys (stored hashed,
// re-checked against the member's current role at every authentication).
package members

import "github.com/smsgate/smsgate/accounts/store"

// DB is the members part of the Redis store.
type Store struct{ *store.DB }

// New returns the members store over db.
func New(db *store.DB) *Store { return &Store{db} }
