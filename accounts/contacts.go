package accounts

import (
	_ "embed"
	"errors"
	"time"
)

// Contact is one entry of an account's address book.
type Contact struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Number    string `json:"number"` // E.164 digits without '+'
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	// Fields are custom fields (template placeholders), lower-case keys.
	Fields    map[string]string `json:"fields,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// ContactInput is a contact to create or merge. Number is normalised with
// the account's default country; custom field keys are lower-cased.
type ContactInput struct {
	Number    string            `json:"number"`
	FirstName string            `json:"first_name"`
	LastName  string            `json:"last_name"`
	Email     string            `json:"email"`
	Fields    map[string]string `json:"fields"`
}

// ContactPatch changes a contact: nil leaves a value, "" clears it (a
// custom field set to "" is removed).
type ContactPatch struct {
	Number    *string           `json:"number"`
	FirstName *string           `json:"first_name"`
	LastName  *string           `json:"last_name"`
	Email     *string           `json:"email"`
	Fields    map[string]string `json:"fields"`
}

// ContactQuery selects a page of contacts, ordered by number.
type ContactQuery struct {
	Prefix string // only numbers starting with these E.164 digits
	After  string // the number after which the page starts (the cursor)
	Limit  int    // 1..1000, default 50
}

// Limits of contacts.
const (
	ContactMaxName      = 100
	contactMaxEmail     = 254
	ContactMaxFields    = 20
	contactMaxFieldKey  = 40
	contactMaxFieldVal  = 500
	ContactBatch        = 500 // contacts per upsert script call
	ContactDefaultLimit = 50
	ContactMaxLimit     = 1000
)

// ErrContactExists: another contact of the account has that number.
var ErrContactExists = errors.New("contact exists")

// contactReserved are the columns and keys that are not custom fields.
var contactReserved = []string{"id", "account_id", "number", "first_name", "last_name", "email", "created_at", "updated_at"}
