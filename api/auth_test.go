package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestAuthorize is the authorisation matrix of this issue, case by case.
func TestAuthorize(t *testing.T) {
	root := &accounts.Account{ID: "a0-root"}
	other := &accounts.Account{ID: "a0-other"}
	subA := &accounts.Account{ID: "a0-suba", ParentID: root.ID}
	subB := &accounts.Account{ID: "a0-subb", ParentID: root.ID}
	foreignSub := &accounts.Account{ID: "a0-fsub", ParentID: other.ID}
	key := func(a *accounts.Account, r accounts.Role) *accounts.APIKey {
		return &accounts.APIKey{ID: "k", AccountID: a.ID, Role: r}
	}
	for _, tc := range []struct {
		name    string
		key     *accounts.APIKey
		keyAcct *accounts.Account
		target  *accounts.Account
		act     action
		want    error
	}{
		{"root admin reads itself", key(root, accounts.RoleParentAdmin), root, root, actRead, nil},
		{"root admin reads its sub", key(root, accounts.RoleParentAdmin), root, subA, actRead, nil},
		{"root admin credits its sub", key(root, accounts.RoleParentAdmin), root, subA, actFinance, nil},
		{"root admin prices its sub", key(root, accounts.RoleParentAdmin), root, subA, actPrice, nil},
		{"root admin prices itself", key(root, accounts.RoleParentAdmin), root, root, actPrice, nil},
		{"root admin credits itself", key(root, accounts.RoleParentAdmin), root, root, actFinance, errForbidden},
		{"root admin creates a sub", key(root, accounts.RoleParentAdmin), root, root, actCreateSub, nil},
		{"root admin, foreign sub", key(root, accounts.RoleParentAdmin), root, foreignSub, actRead, errHidden},
		{"root admin, other root", key(root, accounts.RoleParentAdmin), root, other, actRead, errHidden},
		{"root sub_admin, its sub", key(root, accounts.RoleSubAdmin), root, subA, actRead, errHidden},
		{"root basic creates a sub", key(root, accounts.RoleBasic), root, root, actCreateSub, errForbidden},
		{"sub admin manages itself", key(subA, accounts.RoleSubAdmin), subA, subA, actManage, nil},
		{"sub admin credits itself", key(subA, accounts.RoleSubAdmin), subA, subA, actFinance, errForbidden},
		{"sub admin prices itself", key(subA, accounts.RoleSubAdmin), subA, subA, actPrice, errForbidden},
		{"sub admin creates a sub", key(subA, accounts.RoleSubAdmin), subA, subA, actCreateSub, errForbidden},
		{"sub admin, sibling", key(subA, accounts.RoleSubAdmin), subA, subB, actRead, errHidden},
		{"sub admin, parent", key(subA, accounts.RoleSubAdmin), subA, root, actRead, errHidden},
		{"sub advanced manages", key(subA, accounts.RoleAdvanced), subA, subA, actManage, errForbidden},
		{"sub basic reads", key(subA, accounts.RoleBasic), subA, subA, actRead, nil},
		{"key of another account", key(subB, accounts.RoleParentAdmin), subA, subA, actRead, errHidden},
		{"nil target", key(subA, accounts.RoleBasic), subA, nil, actRead, errHidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := authorize(tc.key, tc.keyAcct, tc.target, tc.act); !errors.Is(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("authorize = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	for _, tc := range []struct {
		name, header, want string
		ok                 bool
	}{
		{"plain", "Bearer abc", "abc", true},
		{"case", "bEaReR abc", "abc", true},
		{"spaces", "  Bearer   abc  ", "abc", true},
		{"empty", "", "", false},
		{"no token", "Bearer", "", false},
		{"basic", "Basic abc", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := bearer(tc.header)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("bearer(%q) = %q, %v", tc.header, got, ok)
			}
		})
	}
}

func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer x", "bearer  y ", "", "Bearer", "Basic z", "Bearer\tq"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearer(h)
		if ok && (tok == "" || tok != strings.TrimSpace(tok)) {
			t.Fatalf("bearer(%q) = %q", h, tok)
		}
	})
}

func FuzzNormDomain(f *testing.F) {
	for _, s := range []string{"example.com", "Sales.Example.COM.", "gmail.com", "a@b.c", "", ".", "x..y", "localhost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := normDomain(in)
		if err != nil {
			return
		}
		if d != strings.ToLower(d) || !strings.Contains(d, ".") || strings.ContainsAny(d, "@/ ") {
			t.Fatalf("normDomain(%q) = %q", in, d)
		}
		if again, err := normDomain(d); err != nil || again != d {
			t.Fatalf("normDomain not idempotent: %q -> %q (%v)", d, again, err)
		}
	})
}
