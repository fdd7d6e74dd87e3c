package members_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/internal/redistest"
)

// userEachShards runs f with a 1-shard and a 4-shard store whose passwords
// use bcrypt's minimum cost (cost 12 takes seconds under -race).
func userEachShards(t *testing.T, f func(t *testing.T, s *redisstore.Store)) {
	t.Helper()
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", n), func(t *testing.T) {
			f(t, storetest.New(t, redisstore.Options{Shards: n, PasswordCost: bcrypt.MinCost}))
		})
	}
}

// userMust creates a user or fails the test.
func userMust(t *testing.T, s *redisstore.Store, email string) *accounts.User {
	t.Helper()
	u, err := s.CreateUser(storetest.AcctTestCtx(t), email, "User "+email, "correct horse battery")
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// userJoinMust adds a member or fails the test.
func userJoinMust(t *testing.T, s *redisstore.Store, acct string, u *accounts.User, role accounts.Role) *accounts.Member {
	t.Helper()
	m, err := s.AddMember(storetest.AcctTestCtx(t), acct, u.ID, role)
	if err != nil {
		t.Fatalf("AddMember(%s, %s, %s): %v", acct, u.Email, role, err)
	}
	return m
}

func TestCreateUser(t *testing.T) {
	s := storetest.New(t, redisstore.Options{})
	ctx := storetest.AcctTestCtx(t)
	first, err := s.CreateUser(ctx, " Alice@Example.COM ", " Alice ", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if first.Email != "alice@example.com" || first.Name != "Alice" || !strings.HasPrefix(first.ID, "u") {
		t.Fatalf("created %+v", first)
	}
	h, err := s.RDB.HGetAll(ctx, s.Keys.User(first.ID)).Result()
	if err != nil || !strings.HasPrefix(h["password_hash"], "$2a$12$") {
		t.Fatalf("stored %v, %v: want a bcrypt cost 12 hash", h, err)
	}
	for k, v := range h {
		if strings.Contains(v, "correct horse") {
			t.Fatalf("field %s holds the password", k)
		}
	}
	got, err := s.UserByEmail(ctx, "ALICE@example.com")
	if err != nil || *got != *first {
		t.Fatalf("UserByEmail = %+v, %v; want %+v", got, err, first)
	}

	tests := []struct {
		name, email, uname, password string
		want                         error
		detail                       string
	}{
		{"taken, other case", "alice@EXAMPLE.com", "A", "correct horse battery", accounts.ErrEmailTaken, "alice@example.com"},
		{"not an email", "alice", "A", "correct horse battery", accounts.ErrInvalid, "email:"},
		{"display name", "Bob <bob@example.com>", "B", "correct horse battery", accounts.ErrInvalid, "email:"},
		{"no name", "bob@example.com", " ", "correct horse battery", accounts.ErrInvalid, "name:"},
		{"short password", "bob@example.com", "Bob", "123456789", accounts.ErrInvalid, "password: shorter than 10"},
		{"long password", "bob@example.com", "Bob", strings.Repeat("x", 73), accounts.ErrInvalid, "password: longer than 72"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateUser(ctx, tt.email, tt.uname, tt.password)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("CreateUser = %v, want %v mentioning %q", err, tt.want, tt.detail)
			}
		})
	}
	// Unknown emails are checked against this hash: it must cost what a real one does.
	if c, err := bcrypt.Cost([]byte(accounts.DummyPasswordHash)); err != nil || c != accounts.DefaultPasswordCost {
		t.Fatalf("userDummyHash cost %d, %v; want %d", c, err, accounts.DefaultPasswordCost)
	}
	if _, err := s.GetUser(ctx, "u-nobody"); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("GetUser(unknown) = %v, want ErrNotFound", err)
	}
}

func TestLoginAndUserKeys(t *testing.T) {
	clock := &storetest.UserClock{T: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	s := storetest.New(t, redisstore.Options{Now: clock.Now, PasswordCost: bcrypt.MinCost})
	ctx := storetest.AcctTestCtx(t)
	root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
	sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
	alice := userMust(t, s, "alice@example.com")
	userJoinMust(t, s, sub.ID, alice, accounts.RoleAdvanced)

	secret, key, err := s.Login(ctx, "Alice@example.com", "correct horse battery", sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if key.UserID != alice.ID || key.Role != accounts.RoleAdvanced || !key.ExpiresAt.Equal(clock.Now().Add(accounts.SessionTTL)) {
		t.Fatalf("session key %+v", key)
	}
	// Without account_id, the only account is used.
	if _, k, err := s.Login(ctx, "alice@example.com", "correct horse battery", ""); err != nil || k.AccountID != sub.ID {
		t.Fatalf("Login without account = %+v, %v", k, err)
	}

	bad := []struct {
		name, email, password, acct string
		want                        error
	}{
		{"wrong password", "alice@example.com", "wrong horse battery", sub.ID, accounts.ErrBadCredentials},
		{"unknown email", "mallory@example.com", "correct horse battery", sub.ID, accounts.ErrBadCredentials},
		{"not an email", "mallory", "correct horse battery", sub.ID, accounts.ErrBadCredentials},
		{"not a member", "alice@example.com", "correct horse battery", root.ID, accounts.ErrNotMember},
		{"no such account", "alice@example.com", "correct horse battery", "a0-nothing", accounts.ErrNotMember},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.Login(ctx, tt.email, tt.password, tt.acct); !errors.Is(err, tt.want) {
				t.Fatalf("Login = %v, want %v", err, tt.want)
			}
		})
	}

	personal, pkey, err := s.CreateUserKey(ctx, sub.ID, alice.ID, "laptop", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	listed, err := s.ListKeys(ctx, sub.ID)
	if err != nil || len(listed) != 1 || listed[0].ID != pkey.ID || listed[0].UserID != alice.ID {
		t.Fatalf("ListKeys = %+v, %v: want only the personal key (sessions are not listed)", listed, err)
	}

	auth := func(t *testing.T, secret string, want accounts.Role) {
		t.Helper()
		k, err := s.Authenticate(ctx, secret)
		switch {
		case want == "" && !errors.Is(err, accounts.ErrBadKey):
			t.Fatalf("Authenticate = %+v, %v; want ErrBadKey", k, err)
		case want != "" && (err != nil || k.Role != want || k.UserEmail != "alice@example.com"):
			t.Fatalf("Authenticate = %+v, %v; want role %s", k, err, want)
		}
	}
	auth(t, secret, accounts.RoleAdvanced)
	auth(t, personal, accounts.RoleAdvanced)

	// A role change applies at the next call.
	if _, err := s.UpdateMember(ctx, sub.ID, alice.ID, accounts.MemberUpdate{Role: accounts.RoleBasic}); err != nil {
		t.Fatal(err)
	}
	auth(t, secret, accounts.RoleBasic)

	// Sessions expire; personal keys do not.
	clock.Add(accounts.SessionTTL)
	auth(t, secret, "")
	auth(t, personal, accounts.RoleBasic)

	// Removal kills the member's keys, and a new membership does not revive them.
	if err := s.RemoveMember(ctx, sub.ID, alice.ID, ""); err != nil {
		t.Fatal(err)
	}
	auth(t, personal, "")
	if n, _ := s.RDB.Exists(ctx, s.Keys.APIKey(pkey.ID)).Result(); n != 0 {
		t.Fatalf("personal key %s still stored after removal", pkey.ID)
	}
	if keys, _ := s.ListKeys(ctx, sub.ID); len(keys) != 0 {
		t.Fatalf("keys after removal: %+v", keys)
	}
	userJoinMust(t, s, sub.ID, alice, accounts.RoleAdvanced)
	auth(t, personal, "")
	if _, _, err := s.CreateUserKey(ctx, root.ID, alice.ID, "x", time.Time{}); !errors.Is(err, accounts.ErrNotMember) {
		t.Fatalf("CreateUserKey outside membership = %v, want ErrNotMember", err)
	}
	if accts, err := s.UserAccounts(ctx, alice.ID); err != nil || len(accts) != 1 || accts[0] != sub.ID {
		t.Fatalf("UserAccounts = %v, %v", accts, err)
	}
}

func TestMembersOwnerAndLastAdmin(t *testing.T) {
	userEachShards(t, func(t *testing.T, s *redisstore.Store) {
		ctx := storetest.AcctTestCtx(t)
		root := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Root"})
		sub := storetest.AcctMustCreate(t, s, accounts.Account{Name: "Sub", ParentID: root.ID})
		ann, bob, cat := userMust(t, s, "ann@example.com"), userMust(t, s, "bob@example.com"), userMust(t, s, "cat@example.com")
		boss := userMust(t, s, "boss@example.com")

		if m := userJoinMust(t, s, sub.ID, cat, accounts.RoleBasic); m.Owner {
			t.Fatal("a basic member became owner")
		}
		if m := userJoinMust(t, s, sub.ID, ann, accounts.RoleSubAdmin); !m.Owner {
			t.Fatal("the first admin is not the owner")
		}
		if m := userJoinMust(t, s, sub.ID, bob, accounts.RoleSubAdmin); m.Owner {
			t.Fatal("a second admin became owner")
		}
		userJoinMust(t, s, root.ID, boss, accounts.RoleParentAdmin)
		if _, err := s.AddMember(ctx, sub.ID, ann.ID, accounts.RoleBasic); !errors.Is(err, accounts.ErrAlreadyMember) {
			t.Fatalf("AddMember twice = %v", err)
		}
		if _, err := s.AddMember(ctx, sub.ID, boss.ID, accounts.RoleParentAdmin); !errors.Is(err, accounts.ErrInvalid) {
			t.Fatalf("parent_admin in a sub-account = %v, want ErrInvalid", err)
		}

		on, off := new(bool), new(bool)
		*on = true
		owner := func(t *testing.T, want string) {
			t.Helper()
			ms, err := s.ListMembers(ctx, sub.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, m := range ms {
				if m.Owner {
					if got != "" {
						t.Fatalf("two owners: %+v", ms)
					}
					got = m.Email
				}
			}
			if got != want {
				t.Fatalf("owner %q, want %q (members %+v)", got, want, ms)
			}
		}
		owner(t, "ann@example.com")

		steps := []struct {
			name   string
			user   *accounts.User
			up     accounts.MemberUpdate
			remove bool
			want   error
			owner  string // after the step
		}{
			{"make bob owner un-owns ann", bob, accounts.MemberUpdate{Owner: on}, false, nil, "bob@example.com"},
			{"bob switches himself to member", bob, accounts.MemberUpdate{Owner: off}, false, nil, ""},
			{"and back again", bob, accounts.MemberUpdate{Owner: on}, false, nil, "bob@example.com"},
			{"a basic owner is refused", cat, accounts.MemberUpdate{Owner: on}, false, accounts.ErrOwnerNotAdmin, "bob@example.com"},
			{"demoting the owner alone is refused", bob, accounts.MemberUpdate{Role: accounts.RoleAdvanced}, false, accounts.ErrOwnerNotAdmin, "bob@example.com"},
			{"demote and un-own together", bob, accounts.MemberUpdate{Role: accounts.RoleAdvanced, Owner: off}, false, nil, ""},
			{"the last admin cannot be demoted", ann, accounts.MemberUpdate{Role: accounts.RoleBasic}, false, accounts.ErrLastAdmin, ""},
			{"nor removed", ann, accounts.MemberUpdate{}, true, accounts.ErrLastAdmin, ""},
			{"parent_admin is not a sub-account role", cat, accounts.MemberUpdate{Role: accounts.RoleParentAdmin}, false, accounts.ErrInvalid, ""},
			{"an advanced caller cannot touch an admin", ann, accounts.MemberUpdate{Role: accounts.RoleBasic, MaxRole: accounts.RoleAdvanced}, false, accounts.ErrRoleAbove, ""},
			{"promote cat", cat, accounts.MemberUpdate{Role: accounts.RoleSubAdmin, MaxRole: accounts.RoleSubAdmin}, false, nil, ""},
			{"now ann can go", ann, accounts.MemberUpdate{}, true, nil, ""},
			{"cat takes ownership", cat, accounts.MemberUpdate{Owner: on}, false, nil, "cat@example.com"},
			{"removing a member keeps the owner", bob, accounts.MemberUpdate{}, true, nil, "cat@example.com"},
			{"not a member", ann, accounts.MemberUpdate{Role: accounts.RoleBasic}, false, accounts.ErrNotFound, "cat@example.com"},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				var err error
				if st.remove {
					err = s.RemoveMember(ctx, sub.ID, st.user.ID, st.up.MaxRole)
				} else {
					_, err = s.UpdateMember(ctx, sub.ID, st.user.ID, st.up)
				}
				if !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
					t.Fatalf("err = %v, want %v", err, st.want)
				}
				owner(t, st.owner)
			})
		}
		m, err := s.GetMember(ctx, sub.ID, cat.ID)
		if err != nil || m.Role != accounts.RoleSubAdmin || !m.Owner || m.Email != "cat@example.com" || m.JoinedAt.IsZero() {
			t.Fatalf("GetMember = %+v, %v", m, err)
		}
		if _, err := s.GetMember(ctx, root.ID, cat.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("GetMember of another account = %v, want ErrNotFound", err)
		}
		// Removing a member leaves the account as it was.
		a, err := s.GetAccount(ctx, sub.ID)
		if err != nil || a.Name != "Sub" || a.Status != accounts.StatusActive {
			t.Fatalf("account after removals: %+v, %v", a, err)
		}
	})
}

// TestLoginThrottle: wrong passwords are bounded per email, known or not;
// once over the limit even the right password is refused until the window
// Has passed.
func TestLoginThrottle(t *testing.T) {
	now := time.Unix(2_000_000, 0)
	rdb := redistest.Start(t)
	s := redisstore.New(rdb, storetest.Guard(redisstore.Options{PasswordCost: 4, Now: func() time.Time { return now }}))
	ctx := t.Context()
	a, err := s.CreateAccount(ctx, accounts.Account{Name: "T"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, "Eve@Example.com", "Eve", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, a.ID, u.ID, accounts.RoleSubAdmin); err != nil {
		t.Fatal(err)
	}
	for i := range accounts.LoginMaxFailures {
		if _, _, err := s.Login(ctx, "eve@example.com", "wrong", a.ID); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "EVE@example.com", "correct horse battery", a.ID); !errors.Is(err, accounts.ErrTooManyAttempts) {
		t.Fatalf("right password over the limit: %v, want ErrTooManyAttempts", err)
	}
	for range accounts.LoginMaxFailures {
		_, _, _ = s.Login(ctx, "nobody@example.com", "x", "")
	}
	if _, _, err := s.Login(ctx, "nobody@example.com", "x", ""); !errors.Is(err, accounts.ErrTooManyAttempts) {
		t.Errorf("unknown email over the limit: %v (the limit must not reveal which emails exist)", err)
	}
	// The window passes (Redis expires the counter).
	rdb.Del(ctx, "smsgate:login:fail:eve@example.com")
	if _, _, err := s.Login(ctx, "eve@example.com", "correct horse battery", a.ID); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestLoginThrottleBySource: an attacker guessing from elsewhere locks the
// email for unknown sources only; the user's own recent source still logs
// in, and is itself bounded per source (whatever the email).
func TestLoginThrottleBySource(t *testing.T) {
	rdb := redistest.Start(t)
	s := redisstore.New(rdb, storetest.Guard(redisstore.Options{PasswordCost: 4}))
	ctx := t.Context()
	a, err := s.CreateAccount(ctx, accounts.Account{Name: "T"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, "eve@example.com", "Eve", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, a.ID, u.ID, accounts.RoleSubAdmin); err != nil {
		t.Fatal(err)
	}
	home := accounts.WithLoginSource(ctx, "192.0.2.10")
	attacker := accounts.WithLoginSource(ctx, "2001:db8:1:2::99")
	attackerNeighbour := accounts.WithLoginSource(ctx, "2001:db8:1:2::1234") // same /64
	elsewhere := accounts.WithLoginSource(ctx, "198.51.100.7")
	if _, _, err := s.Login(home, "eve@example.com", "correct horse battery", a.ID); err != nil {
		t.Fatal(err)
	}
	for i := range accounts.LoginMaxFailures {
		if _, _, err := s.Login(attacker, "eve@example.com", "guess", a.ID); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(elsewhere, "eve@example.com", "correct horse battery", a.ID); !errors.Is(err, accounts.ErrTooManyAttempts) {
		t.Fatalf("an unknown source after the guesses: %v, want locked", err)
	}
	if _, _, err := s.Login(home, "eve@example.com", "correct horse battery", a.ID); err != nil {
		t.Fatalf("the user's own source is locked out by an attacker: %v", err)
	}
	// The attacker's source is bounded whatever emails it tries, and its
	// whole /64 with it.
	for i := accounts.LoginMaxFailures; i < accounts.LoginMaxSourceFailures; i++ {
		_, _, _ = s.Login(attacker, fmt.Sprintf("x%d@example.com", i), "guess", "")
	}
	if _, _, err := s.Login(attackerNeighbour, "new@example.com", "guess", ""); !errors.Is(err, accounts.ErrTooManyAttempts) {
		t.Fatalf("a source past its limit: %v, want ErrTooManyAttempts", err)
	}
	// Failures from a known source do not count towards the email's lock.
	rdb.Del(ctx, "smsgate:login:fail:eve@example.com")
	for range accounts.LoginMaxFailures + 2 {
		_, _, _ = s.Login(home, "eve@example.com", "typo", a.ID)
	}
	if n, _ := rdb.Get(ctx, "smsgate:login:fail:eve@example.com").Int(); n != 0 {
		t.Fatalf("the user's own typos counted %d towards the email lock", n)
	}
	if _, _, err := s.Login(elsewhere, "eve@example.com", "correct horse battery", a.ID); err != nil {
		t.Fatalf("a new source after the user's own typos: %v", err)
	}
}
