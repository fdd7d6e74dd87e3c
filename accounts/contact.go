package accounts

import (
	"errors"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smsgate/smsgate/phone"
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

// ErrTooLarge: an import is over ImportMaxBytes or ImportMaxRows; nothing
// was imported.
var ErrTooLarge = errors.New("too large")

// RowError is one refused row of a CSV import. Row is the line of the file
// as a spreadsheet numbers it (the header is row 1).
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Error  string `json:"error"`
}

// ImportResult is what a CSV import did.
type ImportResult struct {
	Imported int        `json:"imported"` // contacts created
	Updated  int        `json:"updated"`  // existing contacts merged into
	Errors   []RowError `json:"errors"`   // refused rows, the first 1000
	// ErrorsTotal counts every refused row, including those not listed.
	ErrorsTotal int `json:"errors_total"`
	// Group and Added: the group given and the members it gained.
	Group string `json:"group,omitempty"`
	Added int    `json:"added_to_group"`
}

// NormContact validates in for acct and returns it normalised: the number
// in E.164, names and email trimmed, custom field keys lower-cased. Its
// errors wrap ErrInvalid and name the field ("number: ...").
func NormContact(acct *Account, in ContactInput) (ContactInput, error) {
	n, err := phone.Normalize(in.Number, acct.DefaultCountry)
	if err != nil {
		return in, Invalidf("number: %q: %s", in.Number, PhoneReason(err))
	}
	in.Number = n
	for _, f := range []struct {
		name string
		v    *string
	}{{"first_name", &in.FirstName}, {"last_name", &in.LastName}} {
		if *f.v, err = ContactText(f.name, *f.v, ContactMaxName); err != nil {
			return in, err
		}
	}
	if in.Email, err = ContactEmail(in.Email); err != nil {
		return in, err
	}
	fields, err := ContactFields(in.Fields)
	if err != nil {
		return in, err
	}
	in.Fields = fields
	return in, nil
}

// PhoneReason is a phone error without its sentinel prefix.
func PhoneReason(err error) string {
	return strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": ")
}

// ContactText trims a free-text value and checks its length and that it
// Has no control characters.
func ContactText(field, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case !utf8.ValidString(v):
		return "", Invalidf("%s: is not valid UTF-8", field)
	case utf8.RuneCountInString(v) > max:
		return "", Invalidf("%s: is longer than %d characters", field, max)
	case strings.ContainsFunc(v, unicode.IsControl):
		return "", Invalidf("%s: contains a control character", field)
	}
	return v, nil
}

// ContactEmail checks an optional email address.
func ContactEmail(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > contactMaxEmail {
		return "", Invalidf("email: %q is not an email address", v)
	}
	return v, nil
}

// ContactFieldKey normalises a custom field name: lower case, 1 to 40 of
// A-z, 0-9 and '_', not one of the standard columns.
func ContactFieldKey(k string) (string, error) {
	k = strings.ToLower(strings.TrimSpace(k))
	switch {
	case k == "" || len(k) > contactMaxFieldKey:
		return "", Invalidf("fields: %q must be 1 to %d characters", k, contactMaxFieldKey)
	case strings.ContainsFunc(k, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }):
		return "", Invalidf("fields: %q may hold only letters a-z, digits and '_'", k)
	case slices.Contains(contactReserved, k):
		return "", Invalidf("fields: %q is a standard column, not a custom field", k)
	}
	return k, nil
}

// ContactFields validates custom fields; empty values are kept (they clear
// A field in a patch and are ignored in a merge).
func ContactFields(in map[string]string) (map[string]string, error) {
	if len(in) > ContactMaxFields {
		return nil, Invalidf("fields: %d custom fields, at most %d", len(in), ContactMaxFields)
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		key, err := ContactFieldKey(k)
		if err != nil {
			return nil, err
		}
		if out[key], err = ContactText("fields."+key, v, contactMaxFieldVal); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Group is a named set of an account's contacts.
type Group struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Members   int    `json:"members"`
	// SharedWith are the sub-accounts the group is shared with (groups of
	// Root accounts only).
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
