package contacts_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestGroupNames(t *testing.T) {
	s := storetest.AcceptTestStore(t, 1)
	ctx := storetest.AcctTestCtx(t)
	root, _ := contactTestTree(t, s)
	cases := []struct {
		name string
		want string // "" ok, else an error text
	}{
		{"Sales Team", ""},
		{"sales-team", "already has a group named"},
		{"", "name: required"},
		{"1234", "needs a letter"},
		{"Sales & Marketing", "may hold only"},
		{strings.Repeat("x", 65), "longer than 64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateGroup(ctx, root.ID, tc.name)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("CreateGroup(%q): %v, want %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestGroupMembersAndRename(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root, _ := contactTestTree(t, s)
		_, other := contactTestTree(t, s)
		g, err := s.CreateGroup(ctx, root.ID, "Drivers")
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := s.UpsertContact(ctx, root.ID, accounts.ContactInput{Number: "0412000001", FirstName: "Ann"})
		if err != nil {
			t.Fatal(err)
		}
		foreign, _, err := s.UpsertContact(ctx, other.ID, accounts.ContactInput{Number: "0412000009"})
		if err != nil {
			t.Fatal(err)
		}
		ch, err := s.AddGroupMembers(ctx, root.ID, g.ID, []string{c.ID, foreign.ID}, []string{"0412000002", "+61412000001"})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Changed != 2 || ch.Members != 2 || ch.Created != 1 || !slices.Equal(ch.Unknown, []string{foreign.ID}) {
			t.Fatalf("add: %+v", ch)
		}
		nums, err := s.GroupNumbers(ctx, g.ID)
		if err != nil || !slices.Equal(nums, []string{"61412000001", "61412000002"}) {
			t.Fatalf("numbers %v %v", nums, err)
		}
		// A contact's new number flows into the group.
		n := "0412000005"
		if _, err := s.UpdateContact(ctx, root.ID, c.ID, accounts.ContactPatch{Number: &n}); err != nil {
			t.Fatal(err)
		}
		if nums, _ = s.GroupNumbers(ctx, g.ID); !slices.Equal(nums, []string{"61412000002", "61412000005"}) {
			t.Fatalf("numbers after update %v", nums)
		}
		// Remove by number; delete a contact: both leave the group.
		if ch, err = s.RemoveGroupMembers(ctx, root.ID, g.ID, nil, []string{"0412000002"}); err != nil || ch.Members != 1 {
			t.Fatalf("remove: %+v %v", ch, err)
		}
		if err := s.DeleteContact(ctx, root.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetGroup(ctx, g.ID); got.Members != 0 {
			t.Fatalf("members after contact delete: %d", got.Members)
		}
		// Rename keeps names unique in normal form.
		if _, err := s.CreateGroup(ctx, root.ID, "Office"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RenameGroup(ctx, root.ID, g.ID, "office"); !errors.Is(err, accounts.ErrGroupExists) {
			t.Fatalf("rename onto another: %v", err)
		}
		if got, err := s.RenameGroup(ctx, root.ID, g.ID, "Night Drivers"); err != nil || got.Name != "Night Drivers" {
			t.Fatalf("rename: %+v %v", got, err)
		}
		if got, err := s.GroupByName(ctx, root.ID, "night.DRIVERS"); err != nil || got.ID != g.ID {
			t.Fatalf("by new name: %+v %v", got, err)
		}
		if _, err := s.GroupByName(ctx, root.ID, "drivers"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("old name still resolves: %v", err)
		}
		if err := s.DeleteGroup(ctx, root.ID, g.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GroupByName(ctx, root.ID, "night-drivers"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("deleted group resolves: %v", err)
		}
		// Another tenant cannot touch the group.
		if _, err := s.AddGroupMembers(ctx, other.ID, g.ID, nil, []string{"0412000003"}); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("foreign add: %v", err)
		}
	})
}

func TestGroupSharing(t *testing.T) {
	storetest.AcctEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root, sub := contactTestTree(t, s)
		sib := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sibling", ParentID: root.ID})
		_, foreignSub := contactTestTree(t, s)
		g, err := s.CreateGroup(ctx, root.ID, "All Staff")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddGroupMembers(ctx, root.ID, g.ID, nil, []string{"0412000001", "0412000002"}); err != nil {
			t.Fatal(err)
		}
		// Not shared yet: invisible to the sub.
		if _, err := s.GroupByName(ctx, sub.ID, "all-staff"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("unshared group visible: %v", err)
		}
		for _, bad := range [][]string{{foreignSub.ID}, {root.ID}, {"a0-nope"}} {
			if _, err := s.SetGroupSharing(ctx, root.ID, g.ID, bad); !errors.Is(err, accounts.ErrInvalid) {
				t.Fatalf("share with %v: %v", bad, err)
			}
		}
		got, err := s.SetGroupSharing(ctx, root.ID, g.ID, []string{sub.ID})
		if err != nil || !slices.Equal(got.SharedWith, []string{sub.ID}) {
			t.Fatalf("share: %+v %v", got, err)
		}
		sg, err := s.GroupByName(ctx, sub.ID, "ALL STAFF")
		if err != nil || sg.ID != g.ID {
			t.Fatalf("shared lookup: %+v %v", sg, err)
		}
		if _, err := s.GroupByName(ctx, sib.ID, "all-staff"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("sibling sees a group not shared with it: %v", err)
		}
		// By reference: the parent's change is seen at once.
		if _, err := s.AddGroupMembers(ctx, root.ID, g.ID, nil, []string{"0412000003"}); err != nil {
			t.Fatal(err)
		}
		if nums, _ := s.GroupNumbers(ctx, sg.ID); len(nums) != 3 {
			t.Fatalf("sub sees %d members, want 3", len(nums))
		}
		// Read-only for the sub.
		if _, err := s.AddGroupMembers(ctx, sub.ID, g.ID, nil, []string{"0412000004"}); !errors.Is(err, accounts.ErrReadOnly) {
			t.Fatalf("sub adds to shared group: %v", err)
		}
		if err := s.DeleteGroup(ctx, sub.ID, g.ID); !errors.Is(err, accounts.ErrReadOnly) {
			t.Fatalf("sub deletes shared group: %v", err)
		}
		gs, err := s.ListGroups(ctx, sub.ID)
		if err != nil || len(gs) != 1 || gs[0].ID != g.ID {
			t.Fatalf("sub's groups %+v %v", gs, err)
		}
		// The sub's own group of the same name comes first.
		own, err := s.CreateGroup(ctx, sub.ID, "all.staff")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GroupByName(ctx, sub.ID, "all-staff"); got == nil || got.ID != own.ID {
			t.Fatalf("own group not first: %+v", got)
		}
		if err := s.DeleteGroup(ctx, sub.ID, own.ID); err != nil {
			t.Fatal(err)
		}
		// A sub's group cannot be shared.
		if _, err := s.ShareGroup(ctx, sub.ID, own.ID, []string{sib.ID}); err == nil {
			t.Fatal("sub-account group shared")
		}
		// Add and revoke one by one.
		if got, err = s.ShareGroup(ctx, root.ID, g.ID, []string{sib.ID}); err != nil || len(got.SharedWith) != 2 {
			t.Fatalf("share more: %+v %v", got, err)
		}
		if got, err = s.UnshareGroup(ctx, root.ID, g.ID, []string{sub.ID}); err != nil || !slices.Equal(got.SharedWith, []string{sib.ID}) {
			t.Fatalf("unshare: %+v %v", got, err)
		}
		if _, err := s.GroupByName(ctx, sub.ID, "all-staff"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("revoked group visible: %v", err)
		}
		if _, _, err := s.GroupFor(ctx, sub.ID, g.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("revoked group by id: %v", err)
		}
		if gs, _ := s.ListGroups(ctx, sub.ID); len(gs) != 0 {
			t.Fatalf("revoked group listed: %+v", gs)
		}
		// Deleting the group ends the sharing too.
		if err := s.DeleteGroup(ctx, root.ID, g.ID); err != nil {
			t.Fatal(err)
		}
		if gs, _ := s.ListGroups(ctx, sib.ID); len(gs) != 0 {
			t.Fatalf("deleted group listed: %+v", gs)
		}
	})
}
