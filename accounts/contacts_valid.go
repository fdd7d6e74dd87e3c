package accounts

import (
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/smsgate/smsgate/phone"
)

// NormContact validates in for acct and returns it normalised: the number
// in E.164, names and email trimmed, custom field keys lower-cased. Its
// errors wrap ErrInvalid and name the field ("number: ...").
func NormContact(acct *Account, in ContactInput) (ContactInput, error) {
	n, err := phone.Normalize(in.Number, acct.DefaultCountry)
	if err != nil {
		return in, AcctInvalid("number: %q: %s", in.Number, PhoneReason(err))
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

// phoneReason is a phone error without its sentinel prefix.
func PhoneReason(err error) string {
	return strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": ")
}

// contactText trims a free-text value and checks its length and that it
// has no control characters.
func ContactText(field, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case !utf8.ValidString(v):
		return "", AcctInvalid("%s: is not valid UTF-8", field)
	case utf8.RuneCountInString(v) > max:
		return "", AcctInvalid("%s: is longer than %d characters", field, max)
	case strings.ContainsFunc(v, unicode.IsControl):
		return "", AcctInvalid("%s: contains a control character", field)
	}
	return v, nil
}

// contactEmail checks an optional email address.
func ContactEmail(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > contactMaxEmail {
		return "", AcctInvalid("email: %q is not an email address", v)
	}
	return v, nil
}

// contactFieldKey normalises a custom field name: lower case, 1 to 40 of
// a-z, 0-9 and '_', not one of the standard columns.
func ContactFieldKey(k string) (string, error) {
	k = strings.ToLower(strings.TrimSpace(k))
	switch {
	case k == "" || len(k) > contactMaxFieldKey:
		return "", AcctInvalid("fields: %q must be 1 to %d characters", k, contactMaxFieldKey)
	case strings.ContainsFunc(k, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }):
		return "", AcctInvalid("fields: %q may hold only letters a-z, digits and '_'", k)
	case slices.Contains(contactReserved, k):
		return "", AcctInvalid("fields: %q is a standard column, not a custom field", k)
	}
	return k, nil
}

// contactFields validates custom fields; empty values are kept (they clear
// a field in a patch and are ignored in a merge).
func ContactFields(in map[string]string) (map[string]string, error) {
	if len(in) > ContactMaxFields {
		return nil, AcctInvalid("fields: %d custom fields, at most %d", len(in), ContactMaxFields)
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
