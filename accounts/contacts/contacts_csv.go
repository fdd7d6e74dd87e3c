package contacts

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// Limits of a CSV import.
const (
	// ImportMaxBytes bounds an import file.
	ImportMaxBytes = 10 << 20
	// ImportMaxRows bounds the data rows of an import file.
	ImportMaxRows = 50000
	// importMaxErrors bounds the row errors reported; the rest are counted.
	importMaxErrors = 1000
)

// importColumn maps a header cell to a contact field: number, first_name,
// last_name, email, or "f:<key>" for a custom field.
func importColumn(h string) (string, error) {
	k := strings.ToLower(strings.TrimSpace(h))
	k = strings.NewReplacer(" ", "_", "-", "_").Replace(k)
	switch k {
	case "number", "phone", "mobile", "phone_number", "mobile_number":
		return "number", nil
	case "first_name", "firstname", "given_name":
		return "first_name", nil
	case "last_name", "lastname", "surname", "family_name":
		return "last_name", nil
	case "email", "email_address":
		return "email", nil
	}
	key, err := accounts.ContactFieldKey(k)
	if err != nil {
		return "", accounts.Invalidf("header: column %q: %s", h, strings.TrimPrefix(err.Error(), accounts.ErrInvalid.Error()+": fields: "))
	}
	return "f:" + key, nil
}

// ImportContacts reads a CSV file of contacts into accountID: a header row
// naming the columns (number is required; first_name, last_name, email; any
// Other column is a custom field), then one contact per row. A number the
// account has merges into that contact. Refused rows are reported with
// their row number and do not stop the others. With groupID (the account's
// own group), every imported contact also joins that group.
//
// A file over ImportMaxBytes or ImportMaxRows is refused whole
// (ErrTooLarge); a header without a number column is ErrInvalid.
func (s *Store) ImportContacts(ctx context.Context, accountID string, r io.Reader, groupID string) (*accounts.ImportResult, error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	res := &accounts.ImportResult{Errors: []accounts.RowError{}, Group: groupID}
	if groupID != "" {
		if _, err := s.ownGroup(ctx, accountID, groupID); err != nil {
			return nil, err
		}
	}
	lr := &io.LimitedReader{R: r, N: ImportMaxBytes + 1}
	br := bufio.NewReader(lr)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, accounts.Invalidf("header: the file is empty; the first row must name the columns (number, first_name, last_name, email, ...)")
	}
	if err != nil {
		return nil, s.importReadErr(lr, err)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		if strings.TrimSpace(h) == "" {
			continue // an unnamed column is ignored
		}
		if cols[i], err = importColumn(h); err != nil {
			return nil, err
		}
		if seen[cols[i]] {
			return nil, accounts.Invalidf("header: column %q appears twice", h)
		}
		seen[cols[i]] = true
	}
	if !seen["number"] {
		return nil, accounts.Invalidf("header: no number column (the first row must name the columns: number, first_name, last_name, email, ...)")
	}

	var ins []accounts.ContactInput
	fail := func(e accounts.RowError) {
		res.ErrorsTotal++
		if len(res.Errors) < importMaxErrors {
			res.Errors = append(res.Errors, e)
		}
	}
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) || lr.N <= 0 {
				return nil, s.importReadErr(lr, err)
			}
			fail(accounts.RowError{Row: pe.StartLine, Error: pe.Err.Error()})
			continue
		}
		line, _ := cr.FieldPos(0)
		if rows++; rows > ImportMaxRows {
			return nil, fmt.Errorf("%w: the file has more than %d rows; split it", accounts.ErrTooLarge, ImportMaxRows)
		}
		in, empty := importRow(cols, rec)
		if empty {
			continue
		}
		norm, err := accounts.NormContact(acct, in)
		if err != nil {
			var column, value string
			msg := strings.TrimPrefix(err.Error(), accounts.ErrInvalid.Error()+": ")
			if field, rest, ok := strings.Cut(msg, ": "); ok {
				column, msg = field, rest
				value = importValue(cols, rec, field)
				msg = strings.TrimPrefix(msg, strconv.Quote(value)+": ")
			}
			fail(accounts.RowError{Row: line, Column: column, Value: value, Error: msg})
			continue
		}
		ins = append(ins, norm)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: the file is over %d MiB; split it", accounts.ErrTooLarge, ImportMaxBytes>>20)
	}
	// The quota is checked for the whole file first, so that an import
	// that does not fit writes nothing (each batch's script checks again).
	if err := s.importFits(ctx, accountID, ins); err != nil {
		return nil, err
	}
	done, err := s.upsertContacts(ctx, accountID, ins)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(done))
	for _, d := range done {
		if d.Created {
			res.Imported++
		} else {
			res.Updated++
		}
		ids = append(ids, d.ID)
	}
	if groupID != "" && len(ids) > 0 {
		ch, err := s.AddGroupMembers(ctx, accountID, groupID, ids, nil)
		if err != nil {
			return nil, fmt.Errorf("import: contacts stored, adding them to group %s: %w", groupID, err)
		}
		res.Added = ch.Changed
	}
	return res, nil
}

// importReadErr is the error of an unreadable file.
func (s *Store) importReadErr(lr *io.LimitedReader, err error) error {
	if lr.N <= 0 {
		return fmt.Errorf("%w: the file is over %d MiB; split it", accounts.ErrTooLarge, ImportMaxBytes>>20)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return accounts.Invalidf("row %d: %s", pe.Line, pe.Err)
	}
	return fmt.Errorf("import: read: %w", err)
}

// importRow builds a contact from one record. empty: every cell is blank.
func importRow(cols, rec []string) (in accounts.ContactInput, empty bool) {
	empty = true
	for i, v := range rec {
		if i >= len(cols) || cols[i] == "" {
			continue
		}
		v = strings.TrimSpace(v)
		if v != "" {
			empty = false
		}
		switch c := cols[i]; c {
		case "number":
			in.Number = v
		case "first_name":
			in.FirstName = v
		case "last_name":
			in.LastName = v
		case "email":
			in.Email = v
		default:
			if in.Fields == nil {
				in.Fields = map[string]string{}
			}
			in.Fields[strings.TrimPrefix(c, "f:")] = v
		}
	}
	return in, empty
}

// importValue is the cell of the column a validation error names
// ("number", or "fields.<key>").
func importValue(cols, rec []string, field string) string {
	want := field
	if k, ok := strings.CutPrefix(field, "fields."); ok {
		want = "f:" + k
	}
	for i, c := range cols {
		if c == want && i < len(rec) {
			return rec[i]
		}
	}
	return ""
}

// ExportContacts writes accountID's contacts as CSV, ordered by number:
// number, first_name, last_name, email, then every custom field in use,
// sorted. It reads the file ImportContacts reads.
func (s *Store) ExportContacts(ctx context.Context, accountID string, w io.Writer) error {
	var all []*accounts.Contact
	after := ""
	for {
		page, next, err := s.ListContacts(ctx, accountID, accounts.ContactQuery{After: after, Limit: accounts.ContactMaxLimit})
		if err != nil {
			return err
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	keys := map[string]bool{}
	for _, c := range all {
		for k := range c.Fields {
			keys[k] = true
		}
	}
	custom := slices.Sorted(maps.Keys(keys))
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{"number", "first_name", "last_name", "email"}, custom...)); err != nil {
		return fmt.Errorf("export contacts of %s: %w", accountID, err)
	}
	for _, c := range all {
		row := []string{"+" + c.Number, csvCell(c.FirstName), csvCell(c.LastName), csvCell(c.Email)}
		for _, k := range custom {
			row = append(row, csvCell(c.Fields[k]))
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("export contacts of %s: %w", accountID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export contacts of %s: %w", accountID, err)
	}
	return nil
}

// csvCell defuses text a spreadsheet would run as a formula (a leading =,
// +, -, @, tab or carriage return) by prefixing a quote.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// importFits checks that the new numbers among ins fit the account's
// contacts quota.
func (s *Store) importFits(ctx context.Context, accountID string, ins []accounts.ContactInput) error {
	if len(ins) == 0 {
		return nil
	}
	q, err := s.QuotasOf(ctx, accountID)
	if err != nil {
		return err
	}
	_, zset, index, err := s.contactKeys(accountID)
	if err != nil {
		return err
	}
	numbers := make([]string, 0, len(ins))
	seen := make(map[string]bool, len(ins))
	for _, in := range ins {
		if !seen[in.Number] {
			seen[in.Number] = true
			numbers = append(numbers, in.Number)
		}
	}
	var fresh int64
	for chunk := range slices.Chunk(numbers, 1000) {
		have, err := s.RDB.HMGet(ctx, index, chunk...).Result()
		if err != nil {
			return fmt.Errorf("import contacts of %s: %w", accountID, err)
		}
		for _, h := range have {
			if h == nil {
				fresh++
			}
		}
	}
	used, err := s.RDB.ZCard(ctx, zset).Result()
	if err != nil {
		return fmt.Errorf("import contacts of %s: %w", accountID, err)
	}
	if used+fresh > q.Contacts {
		return &accounts.QuotaError{Account: accountID, Quota: accounts.QuotaContacts, Limit: q.Contacts, Used: used, Want: fresh}
	}
	return nil
}
