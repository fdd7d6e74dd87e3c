package members_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/members"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
)

func TestInvitationLifecycle(t *testing.T) {
	userEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
		sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
		other := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Other"})

		token, inv, err := s.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: sub.ID, Email: "New@Example.com", Role: accounts.RoleAdvanced, CreatedBy: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(token, "sgi_"+inv.ID+"_") || inv.Email != "new@example.com" || inv.Status != accounts.InvitePending ||
			!inv.ExpiresAt.Equal(inv.CreatedAt.Add(members.InvitationTTL)) {
			t.Fatalf("token %q, invitation %+v", token, inv)
		}
		shard, _ := s.ShardFromID(sub.ID)
		stored, err := s.RDB.HGetAll(ctx, s.Keys.Invitation(shard, inv.ID)).Result()
		if err != nil || stored["token_hash"] != members.KeyHash(token) {
			t.Fatalf("stored %v, %v", stored, err)
		}
		for k, v := range stored {
			if strings.Contains(v, token[len(token)-20:]) {
				t.Fatalf("field %s holds the token", k)
			}
		}
		list, err := s.ListInvitations(ctx, sub.ID)
		if err != nil || len(list) != 1 || list[0] != *inv {
			t.Fatalf("ListInvitations = %+v, %v; want [%+v]", list, err, *inv)
		}

		refused := []struct {
			name string
			req  accounts.InvitationRequest
			want error
		}{
			{"pending already", accounts.InvitationRequest{AccountID: sub.ID, Email: "new@example.com", Role: accounts.RoleBasic}, accounts.ErrInvitePending},
			{"bad email", accounts.InvitationRequest{AccountID: sub.ID, Email: "nobody", Role: accounts.RoleBasic}, accounts.ErrInvalid},
			{"bad role", accounts.InvitationRequest{AccountID: sub.ID, Email: "x@example.com", Role: "god"}, accounts.ErrInvalid},
			{"parent_admin in a sub", accounts.InvitationRequest{AccountID: sub.ID, Email: "x@example.com", Role: accounts.RoleParentAdmin}, accounts.ErrInvalid},
			{"ttl too long", accounts.InvitationRequest{AccountID: sub.ID, Email: "x@example.com", Role: accounts.RoleBasic, TTL: 365 * 24 * time.Hour}, accounts.ErrInvalid},
			{"no account", accounts.InvitationRequest{AccountID: "a0-none", Email: "x@example.com", Role: accounts.RoleBasic}, accounts.ErrNotFound},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				if _, _, err := s.CreateInvitation(ctx, tt.req); !errors.Is(err, tt.want) {
					t.Fatalf("CreateInvitation = %v, want %v", err, tt.want)
				}
			})
		}

		// A bad password leaves the invitation usable.
		if _, err := s.AcceptInvitation(ctx, token, "New", "short"); !errors.Is(err, accounts.ErrInvalid) {
			t.Fatalf("accept with a short password = %v, want ErrInvalid", err)
		}
		acc, err := s.AcceptInvitation(ctx, token, "New Person", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if !acc.NewUser || acc.User.Email != "new@example.com" || acc.Member.Role != accounts.RoleAdvanced || acc.Member.AccountID != sub.ID {
			t.Fatalf("acceptance %+v, member %+v", acc, acc.Member)
		}
		if list, _ := s.ListInvitations(ctx, sub.ID); len(list) != 0 {
			t.Fatalf("pending after accept: %+v", list)
		}

		// An existing user joins a second account only by their own act:
		// not by whoever holds the token, but signed in as themselves (or
		// with their password).
		tok2, _, err := s.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: root.ID, Email: "new@example.com", Role: accounts.RoleParentAdmin})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AcceptInvitation(ctx, tok2, "Mallory", "mallory's password"); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("accepted for an existing user without their consent: %v", err)
		}
		if _, err := s.AcceptInvitation(accounts.WithActingUser(ctx, "u-someone-else"), tok2, "", ""); !errors.Is(err, accounts.ErrNotMember) {
			t.Fatalf("accepted signed in as another user: %v", err)
		}
		acc2, err := s.AcceptInvitation(accounts.WithActingUser(ctx, acc.User.ID), tok2, "", "")
		if err != nil || acc2.NewUser || acc2.User.ID != acc.User.ID || acc2.Member.Role != accounts.RoleParentAdmin || !acc2.Member.Owner {
			t.Fatalf("second acceptance %+v, %v", acc2, err)
		}

		tok3, inv3, err := s.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: sub.ID, Email: "third@example.com", Role: accounts.RoleBasic})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeInvitation(ctx, other.ID, inv3.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("revoke from another account = %v, want ErrNotFound", err)
		}
		if err := s.RevokeInvitation(ctx, sub.ID, inv3.ID); err != nil {
			t.Fatal(err)
		}

		tampered := []byte(token)
		tampered[len(tampered)-1] ^= 1
		accepts := []struct {
			name, token string
			want        error
			detail      string
		}{
			{"used", token, accounts.ErrInvitationGone, "already accepted"},
			{"revoked", tok3, accounts.ErrInvitationGone, "revoked"},
			{"tampered", string(tampered), accounts.ErrNotFound, ""},
			{"garbage", "sgi_nothing", accounts.ErrNotFound, ""},
			{"empty", "", accounts.ErrNotFound, ""},
		}
		for _, tt := range accepts {
			t.Run("accept "+tt.name, func(t *testing.T) {
				_, err := s.AcceptInvitation(ctx, tt.token, "X Y", "correct horse battery")
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.detail) {
					t.Fatalf("AcceptInvitation = %v, want %v (%q)", err, tt.want, tt.detail)
				}
			})
		}
		if err := s.RevokeInvitation(ctx, sub.ID, inv3.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("second revoke = %v, want ErrNotFound", err)
		}
		if err := s.RevokeInvitation(ctx, sub.ID, inv.ID); !errors.Is(err, accounts.ErrInvitationTaken) {
			t.Fatalf("revoke an accepted invitation = %v, want ErrInvitationTaken", err)
		}
		if _, _, err := s.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: sub.ID, Email: "NEW@example.com", Role: accounts.RoleBasic}); !errors.Is(err, accounts.ErrAlreadyMember) {
			t.Fatalf("inviting a member = %v, want ErrAlreadyMember", err)
		}
		// A revoked invitation frees its email for a new one.
		if _, _, err := s.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: sub.ID, Email: "third@example.com", Role: accounts.RoleBasic}); err != nil {
			t.Fatalf("re-invite after revoke: %v", err)
		}
	})
}

func TestInvitationExpiry(t *testing.T) {
	clock := &storetest.UserClock{T: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	s := storetest.New(t, redisstore.Options{Now: clock.Now, PasswordCost: bcrypt.MinCost})
	ctx := storetest.AcctTestCtx(t)
	a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
	token, inv, err := s.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: a.ID, Email: "late@example.com", Role: accounts.RoleBasic})
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(members.InvitationTTL - time.Millisecond)
	if list, _ := s.ListInvitations(ctx, a.ID); len(list) != 1 {
		t.Fatalf("pending just before expiry: %+v", list)
	}
	clock.Add(time.Millisecond)
	if list, _ := s.ListInvitations(ctx, a.ID); len(list) != 0 {
		t.Fatalf("pending at expiry: %+v", list)
	}
	if _, err := s.AcceptInvitation(ctx, token, "Late", "correct horse battery"); !errors.Is(err, accounts.ErrInvitationGone) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("accept expired = %v, want ErrInvitationGone (expired)", err)
	}
	if _, err := s.UserByEmail(ctx, "late@example.com"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("an expired invitation created a user: %v", err)
	}
	// The email may be invited again; the new invitation has its own token.
	tok2, inv2, err := s.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: a.ID, Email: "late@example.com", Role: accounts.RoleBasic, TTL: time.Hour})
	if err != nil || inv2.ID == inv.ID || !inv2.ExpiresAt.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("re-invite = %+v, %v", inv2, err)
	}
	if _, err := s.AcceptInvitation(ctx, tok2, "Late", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
}

// TestInvitationConcurrentAccept races many accepts of one token: exactly one
// succeeds, every other one is told the invitation is used, and the account
// Has one new member.
func TestInvitationConcurrentAccept(t *testing.T) {
	tests := []struct {
		name     string
		existing bool // the invited email has a user already
		racers   int
	}{
		{"existing user", true, 24},
		{"new user", false, 4}, // each new-user accept runs bcrypt at cost 12
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.New(t, redisstore.Options{Shards: 2, PasswordCost: bcrypt.MinCost})
			ctx := storetest.AcctTestCtx(t)
			a := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
			if tt.existing {
				userMust(t, s, "race@example.com")
			}
			token, _, err := s.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: a.ID, Email: "race@example.com", Role: accounts.RoleSubAdmin})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, tt.racers)
			for i := range tt.racers {
				wg.Go(func() {
					_, errs[i] = s.AcceptInvitation(ctx, token, "Racer", "correct horse battery")
				})
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, accounts.ErrInvitationGone):
					t.Errorf("loser got %v, want ErrInvitationGone", err)
				}
			}
			if ok != 1 {
				t.Fatalf("%d accepts succeeded, want exactly 1 (errors %v)", ok, errs)
			}
			ms, err := s.ListMembers(ctx, a.ID)
			if err != nil || len(ms) != 1 || ms[0].Email != "race@example.com" || !ms[0].Owner {
				t.Fatalf("members %+v, %v", ms, err)
			}
		})
	}
}
