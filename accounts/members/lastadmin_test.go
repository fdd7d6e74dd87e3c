package members_test

import (
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

// TestLastParentAdmin: a root account is run by its parent_admins; a
// sub_admin does not count. The last parent_admin can neither be demoted
// nor removed, even with sub_admins beside them, until another member is a
// parent_admin. A sub-account keeps any admin.
func TestLastParentAdmin(t *testing.T) {
	s := storetest.New(t, redisstore.Options{PasswordCost: bcrypt.MinCost})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
	p := userMust(t, s, "p@example.com")
	sa := userMust(t, s, "s@example.com")
	userJoinMust(t, s, root.ID, p, accounts.RoleParentAdmin)
	userJoinMust(t, s, root.ID, sa, accounts.RoleSubAdmin)
	if _, err := s.UpdateMember(ctx, root.ID, p.ID, accounts.MemberUpdate{Role: accounts.RoleSubAdmin}); !errors.Is(err, accounts.ErrLastAdmin) {
		t.Fatalf("demote the last parent_admin: %v, want ErrLastAdmin", err)
	}
	if err := s.RemoveMember(ctx, root.ID, p.ID, ""); !errors.Is(err, accounts.ErrLastAdmin) {
		t.Fatalf("remove the last parent_admin: %v, want ErrLastAdmin", err)
	}
	if _, err := s.UpdateMember(ctx, root.ID, sa.ID, accounts.MemberUpdate{Role: accounts.RoleParentAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateMember(ctx, root.ID, p.ID, accounts.MemberUpdate{Role: accounts.RoleSubAdmin}); err != nil {
		t.Fatalf("demote with another parent_admin: %v", err)
	}
	sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
	a, b := userMust(t, s, "a@example.com"), userMust(t, s, "b@example.com")
	userJoinMust(t, s, sub.ID, a, accounts.RoleSubAdmin)
	userJoinMust(t, s, sub.ID, b, accounts.RoleSubAdmin)
	if err := s.RemoveMember(ctx, sub.ID, a.ID, ""); err != nil {
		t.Fatalf("remove one of two sub_admins: %v", err)
	}
	if err := s.RemoveMember(ctx, sub.ID, b.ID, ""); !errors.Is(err, accounts.ErrLastAdmin) {
		t.Fatalf("remove the last sub_admin of a sub-account: %v", err)
	}
}
