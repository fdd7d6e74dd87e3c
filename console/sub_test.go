package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
)

// TestSubAccountPage: the parent's administrator renames a sub-account,
// sets its auto-recharge, grants and enables its permission flags (never
// enabling beyond the grant), and deletes it, its balance going back.
func TestSubAccountPage(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	sub := e.newSub("Sales")
	e.addUser(sub.ID, "sam@example.com", accounts.RoleSubAdmin)
	b := e.browser()
	b.signIn("ann@example.com")
	st, body, _ := b.get("/team/" + sub.ID)
	if st != http.StatusOK || !strings.Contains(body, "sam@example.com") || !strings.Contains(body, `id="permissions"`) {
		t.Fatalf("sub-account page: %d\n%s", st, body)
	}
	get := func() *accounts.Account {
		a, err := e.st.GetAccount(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if st, _, _ := b.post("/team/"+sub.ID+"/rename", url.Values{"name": {"Sales AU"}, "back": {"sub"}}); st != http.StatusSeeOther || get().Name != "Sales AU" {
		t.Fatalf("rename: %d, name %q", st, get().Name)
	}
	if st, _, _ := b.post("/team/"+sub.ID+"/recharge", url.Values{"threshold": {"1.00"}, "amount": {"5"}, "low_balance": {"2.5"}}); st != http.StatusSeeOther {
		t.Fatalf("recharge: %d", st)
	}
	if a := get(); a.AutoRecharge != (accounts.AutoRecharge{Threshold: 100, Amount: 500}) || a.LowBalance != 250 {
		t.Fatalf("auto-recharge %+v, low balance %d", a.AutoRecharge, a.LowBalance)
	}
	if _, body, _ := b.get("/team/" + sub.ID); !strings.Contains(body, `name="amount" inputmode="decimal" value="5.00"`) {
		t.Fatalf("the recharge form does not show the amount set:\n%s", body)
	}
	perm := url.Values{"granted": {"access_sms", "analytics", "incoming_sms"}, "enabled": {"access_sms", "analytics"}}
	if st, body, _ := b.post("/team/"+sub.ID+"/permissions", perm); st != http.StatusSeeOther {
		t.Fatalf("permissions: %d\n%s", st, body)
	}
	if p := get().Permissions; !slices.Equal(p.Granted, []string{"access_sms", "analytics", "incoming_sms"}) || !slices.Equal(p.Enabled, []string{"access_sms", "analytics"}) {
		t.Fatalf("permissions now %+v", p)
	}
	// Enabled beyond the grant: the API's rule, refused.
	bad := url.Values{"granted": {"access_sms"}, "enabled": {"access_sms", "finance"}}
	if st, body, _ := b.post("/team/"+sub.ID+"/permissions", bad); st < 400 || !strings.Contains(body, "finance") {
		t.Fatalf("enabled beyond the grant: %d\n%s", st, body)
	}
	// The sub-account's own administrator has no such page.
	sam := e.browser()
	sam.signIn("sam@example.com")
	if st, _, _ := sam.get("/team/" + sub.ID); st != http.StatusNotFound {
		t.Fatalf("the sub's own administrator on its team page: %d", st)
	}
	if _, _, err := e.st.Transfer(ctx, e.root.ID, sub.ID, 300, "test", "test"); err != nil {
		t.Fatal(err)
	}
	if st, body, _ := b.post("/team/"+sub.ID+"/delete", url.Values{"confirm": {"nope"}}); st != http.StatusUnprocessableEntity || !strings.Contains(body, "confirm") {
		t.Fatalf("delete without confirming: %d", st)
	}
	if st, _, _ := b.post("/team/"+sub.ID+"/delete", url.Values{"confirm": {sub.ID}}); st != http.StatusSeeOther {
		t.Fatalf("delete: %d", st)
	}
	if _, err := e.st.GetAccount(ctx, sub.ID); err == nil {
		t.Fatal("the deleted sub-account is still there")
	}
	if root, _ := e.st.GetAccount(ctx, e.root.ID); root.Balance != 10000 {
		t.Fatalf("the root's balance after the delete: %d, want 10000", root.Balance)
	}
}
