package contacts_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/contacts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// contactTestTree is a root (AU) with one sub-account, on a fresh store.
func contactTestTree(t *testing.T, s *redisstore.Store, subPerms ...string) (root, sub *accounts.Account) {
	t.Helper()
	root = storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root", DefaultCountry: "AU", Currency: "AUD"})
	a := accounts.Account{Name: "Sub", ParentID: root.ID}
	if subPerms != nil {
		a.Permissions = accounts.Permissions{Granted: subPerms, Enabled: subPerms}
	}
	return root, storetest.AcctMustCreate(t, s, a)
}

func TestContactCRUD(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root, _ := contactTestTree(t, s)
		c, created, err := s.UpsertContact(ctx, root.ID, accounts.ContactInput{Number: "0412 345 678", FirstName: " Jo ",
			Email: "jo@example.com", Fields: map[string]string{"Company": "Acme"}})
		if err != nil || !created {
			t.Fatalf("create: %v created=%v", err, created)
		}
		if c.Number != "61412345678" || c.FirstName != "Jo" || c.Fields["company"] != "Acme" || c.AccountID != root.ID {
			t.Fatalf("created %+v", c)
		}
		// The same number, written another way, merges: given values
		// replace, empty ones leave.
		c2, created, err := s.UpsertContact(ctx, root.ID, accounts.ContactInput{Number: "+61 412-345-678", LastName: "Bloggs",
			Fields: map[string]string{"team": "red"}})
		if err != nil || created || c2.ID != c.ID {
			t.Fatalf("merge: %+v created=%v err=%v", c2, created, err)
		}
		if c2.FirstName != "Jo" || c2.LastName != "Bloggs" || c2.Fields["company"] != "Acme" || c2.Fields["team"] != "red" {
			t.Fatalf("merged %+v", c2)
		}
		// Update: rename, clear a field, move the number.
		empty, num := "", "0499 000 111"
		c3, err := s.UpdateContact(ctx, root.ID, c.ID, accounts.ContactPatch{Number: &num, LastName: &empty,
			Fields: map[string]string{"team": ""}})
		if err != nil {
			t.Fatal(err)
		}
		if c3.Number != "61499000111" || c3.LastName != "" || c3.Fields["team"] != "" || c3.Fields["company"] != "Acme" {
			t.Fatalf("updated %+v", c3)
		}
		if _, err := s.ContactByNumber(ctx, root.ID, "0412345678"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("old number still found: %v", err)
		}
		if got, err := s.ContactByNumber(ctx, root.ID, "61499000111"); err != nil || got.ID != c.ID {
			t.Fatalf("by new number: %+v %v", got, err)
		}
		// A number another contact has: 409-style error.
		other, _, err := s.UpsertContact(ctx, root.ID, accounts.ContactInput{Number: "0412000000"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateContact(ctx, root.ID, other.ID, accounts.ContactPatch{Number: &num}); !errors.Is(err, accounts.ErrContactExists) {
			t.Fatalf("number taken: %v", err)
		}
		// Delete.
		if err := s.DeleteContact(ctx, root.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetContact(ctx, root.ID, c.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("deleted contact: %v", err)
		}
		if err := s.DeleteContact(ctx, root.ID, c.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

func TestContactTenancy(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root, sub := contactTestTree(t, s, append(accounts.DefaultPermissions().Enabled, accounts.FlagShareContacts)...)
		_, plain := contactTestTree(t, s)
		c, _, err := s.UpsertContact(ctx, root.ID, accounts.ContactInput{Number: "0412345678", FirstName: "Parent's"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetContact(ctx, sub.ID, c.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("sub reads parent's contact by id: %v", err)
		}
		if err := s.DeleteContact(ctx, sub.ID, c.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("sub deletes parent's contact: %v", err)
		}
		// share_contacts: the parent's contacts answer ContactByNumber;
		// the sub's own come first.
		if got, err := s.ContactByNumber(ctx, sub.ID, "61412345678"); err != nil || got.ID != c.ID {
			t.Fatalf("shared lookup: %+v %v", got, err)
		}
		own, _, err := s.UpsertContact(ctx, sub.ID, accounts.ContactInput{Number: "0412345678", FirstName: "Own"})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ContactByNumber(ctx, sub.ID, "0412345678"); got == nil || got.ID != own.ID {
			t.Fatalf("own contact not first: %+v", got)
		}
		if _, err := s.ContactByNumber(ctx, plain.ID, "0412345678"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("another tenant's sub sees the contact: %v", err)
		}
	})
}

func TestListContactsPages(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := storetest.AcctTestCtx(t)
	root, _ := contactTestTree(t, s)
	for i := range 25 {
		if _, _, err := s.UpsertContact(ctx, root.ID, accounts.ContactInput{Number: fmt.Sprintf("04%08d", i*7)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	cursor := ""
	for range 10 {
		page, next, err := s.ListContacts(ctx, root.ID, accounts.ContactQuery{After: cursor, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			got = append(got, c.Number)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(got) != 25 || !slices.IsSorted(got) {
		t.Fatalf("pages gave %d numbers, sorted=%v: %v", len(got), slices.IsSorted(got), got)
	}
	page, _, err := s.ListContacts(ctx, root.ID, accounts.ContactQuery{Prefix: "614000001"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page {
		if !strings.HasPrefix(c.Number, "614000001") {
			t.Fatalf("prefix search gave %s", c.Number)
		}
	}
	if len(page) != 10 { // i*7 from 105 (i=15) to 168 (i=24)
		t.Fatalf("prefix search gave %d contacts, want 10", len(page))
	}
}

// TestUpsertConcurrent: many writers of the same numbers never make two
// contacts of one number.
func TestUpsertConcurrent(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := storetest.AcctTestCtx(t)
	root, _ := contactTestTree(t, s)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if _, _, err := s.UpsertContact(ctx, root.ID, accounts.ContactInput{Number: fmt.Sprintf("0412%06d", i),
					FirstName: fmt.Sprintf("w%d", w)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	page, _, err := s.ListContacts(ctx, root.ID, accounts.ContactQuery{Limit: 100})
	if err != nil || len(page) != 20 {
		t.Fatalf("%d contacts, want 20 (%v)", len(page), err)
	}
}

func TestImportExportContacts(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := storetest.AcctTestCtx(t)
	root, _ := contactTestTree(t, s)
	g, err := s.CreateGroup(ctx, root.ID, "Import Test")
	if err != nil {
		t.Fatal(err)
	}
	csvIn := "\xef\xbb\xbfNumber,First Name,last_name,email,Company\n" +
		"0412 000 001,Ann,Lee,ann@example.com,Acme\n" +
		"12,Bad,Number,,\n" +
		"0412000002,Bob,,not-an-email,\n" +
		",,,,\n" +
		"+61412000001,,Merged,,\n" +
		"0412000003,Cy,\"Quoted, Name\",,=cmd\n"
	res, err := s.ImportContacts(ctx, root.ID, strings.NewReader(csvIn), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.Updated != 1 || res.ErrorsTotal != 2 || res.Added != 2 {
		t.Fatalf("result %+v", res)
	}
	want := []accounts.RowError{
		{Row: 3, Column: "number", Value: "12", Error: "+61 12 is too short for AU"},
		{Row: 4, Column: "email", Value: "not-an-email", Error: `"not-an-email" is not an email address`},
	}
	for i, w := range want {
		if i >= len(res.Errors) || res.Errors[i].Row != w.Row || res.Errors[i].Column != w.Column ||
			res.Errors[i].Value != w.Value || !strings.Contains(res.Errors[i].Error, w.Error) {
			t.Errorf("error %d: %+v, want %+v", i, res.Errors, w)
		}
	}
	c, err := s.ContactByNumber(ctx, root.ID, "0412000001")
	if err != nil || c.FirstName != "Ann" || c.LastName != "Merged" || c.Fields["company"] != "Acme" {
		t.Fatalf("merged contact %+v %v", c, err)
	}
	var out bytes.Buffer
	if err := s.ExportContacts(ctx, root.ID, &out); err != nil {
		t.Fatal(err)
	}
	wantCSV := "number,first_name,last_name,email,company\n" +
		"+61412000001,Ann,Merged,ann@example.com,Acme\n" +
		"+61412000003,Cy,\"Quoted, Name\",,'=cmd\n"
	if out.String() != wantCSV {
		t.Fatalf("export:\n%s\nwant:\n%s", out.String(), wantCSV)
	}
	// Re-importing the export changes nothing but counts updates.
	res, err = s.ImportContacts(ctx, root.ID, strings.NewReader(out.String()), "")
	if err != nil || res.Imported != 0 || res.Updated != 2 || res.ErrorsTotal != 0 {
		t.Fatalf("re-import %+v %v", res, err)
	}
}

func TestImportRefusals(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := storetest.AcctTestCtx(t)
	root, _ := contactTestTree(t, s)
	cases := []struct {
		name, csv string
		want      error
		text      string
	}{
		{"empty", "", accounts.ErrInvalid, "the file is empty"},
		{"no number column", "name,email\nJo,jo@example.com\n", accounts.ErrInvalid, "no number column"},
		{"duplicate column", "number,phone\n1,2\n", accounts.ErrInvalid, "appears twice"},
		{"bad custom column", "number,a$b\n0412345678,x\n", accounts.ErrInvalid, `column "a$b"`},
		{"too many rows", "number\n" + strings.Repeat("0412345678\n", contacts.ImportMaxRows+1), accounts.ErrTooLarge, "more than 50000 rows"},
		{"too many bytes", "number,notes\n" + strings.Repeat("0412345678,"+strings.Repeat("x", 400)+"\n", 30000), accounts.ErrTooLarge, "over 10 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ImportContacts(ctx, root.ID, strings.NewReader(tc.csv), "")
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err %v, want %v containing %q", err, tc.want, tc.text)
			}
		})
	}
}
