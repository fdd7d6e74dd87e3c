package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestUsersPage: invite (no mail relay: the link shown once), send an
// invitation again (a new token, the old one revoked), change a member's
// role, make another the owner, remove one.
func TestUsersPage(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.addUser(e.root.ID, "bob@example.com", accounts.RoleAdvanced)
	b := e.browser()
	b.signIn("ann@example.com")
	b.get("/users")
	if st, _, _ := b.post("/users/invite", url.Values{"email": {"carol@example.com"}, "role": {"basic"}}); st != http.StatusSeeOther {
		t.Fatalf("invite: %d", st)
	}
	_, body, _ := b.get("/users")
	if !strings.Contains(body, "/invite?token=sgi_") || !strings.Contains(body, "carol@example.com as basic") {
		t.Fatalf("after inviting:\n%s", body)
	}
	invs, err := e.st.ListInvitations(ctx, e.root.ID)
	if err != nil || len(invs) != 1 {
		t.Fatalf("invitations %+v, %v", invs, err)
	}
	if st, _, _ := b.post("/users/invitations/"+invs[0].ID+"/resend", nil); st != http.StatusSeeOther {
		t.Fatalf("send again: %d", st)
	}
	again, err := e.st.ListInvitations(ctx, e.root.ID)
	pending := 0
	for _, i := range again {
		if i.Status == "pending" {
			pending++
			if i.ID == invs[0].ID || i.Email != "carol@example.com" || i.Role != accounts.RoleBasic {
				t.Errorf("the invitation sent again: %+v", i)
			}
		}
	}
	if err != nil || pending != 1 {
		t.Fatalf("after sending again: %d pending of %+v (%v)", pending, again, err)
	}
	members, _ := e.st.ListMembers(ctx, e.root.ID)
	var bob string
	for _, m := range members {
		if m.Email == "bob@example.com" {
			bob = m.UserID
		}
	}
	if st, _, _ := b.post("/users/members/"+bob+"/role", url.Values{"role": {"sub_admin"}}); st != http.StatusSeeOther {
		t.Fatalf("change the role: %d", st)
	}
	if st, _, _ := b.post("/users/members/"+bob+"/owner", nil); st != http.StatusSeeOther {
		t.Fatalf("make owner: %d", st)
	}
	members, _ = e.st.ListMembers(ctx, e.root.ID)
	for _, m := range members {
		if m.UserID == bob && (m.Role != accounts.RoleSubAdmin || !m.Owner) {
			t.Fatalf("bob now %+v", m)
		}
	}
	if st, _, _ := b.post("/users/members/"+bob+"/remove", nil); st != http.StatusSeeOther {
		t.Fatalf("remove: %d", st)
	}
	if members, _ = e.st.ListMembers(ctx, e.root.ID); len(members) != 1 {
		t.Fatalf("members after the removal: %+v", members)
	}
	// A role above the caller's own is the API's refusal.
	e.addUser(e.root.ID, "dan@example.com", accounts.RoleSubAdmin)
	dan := e.browser()
	dan.signIn("dan@example.com")
	dan.get("/users")
	if st, body, _ := dan.post("/users/invite", url.Values{"email": {"eve@example.com"}, "role": {"parent_admin"}}); st != http.StatusForbidden || !strings.Contains(body, "parent_admin") {
		t.Fatalf("a sub_admin inviting a parent_admin: %d\n%s", st, body)
	}
}
