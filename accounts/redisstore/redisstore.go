// Package redisstore composes the area stores of accounts/ (tenancy, members,
// money, messages, contacts, rules) over one store.DB into Store, the value
// the daemon wires into each consumer's narrow interface. It also holds the
// operations that span areas: Bootstrap (the first account and its key) and
// DeleteAccount (money, registrations and keys of a sub-account at once).
package redisstore

import (
	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts/contacts"
	"github.com/smsgate/smsgate/accounts/members"
	"github.com/smsgate/smsgate/accounts/messages"
	"github.com/smsgate/smsgate/accounts/money"
	"github.com/smsgate/smsgate/accounts/rules"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/accounts/tenancy"
)

// Options configures the store.
type Options = store.Options

// Area stores, aliased so that Store can embed them side by side.
type (
	Tenancy  = tenancy.Store
	Members  = members.Store
	Money    = money.Store
	Messages = messages.Store
	Contacts = contacts.Store
	Rules    = rules.Store
)

// DB is the whole Redis store: every area over one DB.
type Store struct {
	*store.DB
	*Tenancy
	*Members
	*Money
	*Messages
	*Contacts
	*Rules
}

// New returns a Store over rdb.
func New(rdb redis.UniversalClient, opts Options) *Store {
	db := store.NewDB(rdb, opts)
	return &Store{DB: db, Tenancy: tenancy.New(db), Members: members.New(db), Money: money.New(db),
		Messages: messages.New(db), Contacts: contacts.New(db), Rules: rules.New(db)}
}
