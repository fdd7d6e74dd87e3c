package accounts

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/internal/redistest"
)

// userClock is a settable clock for StoreOptions.Now.
type userClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *userClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *userClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// userEachShards runs f with a 1-shard and a 4-shard store whose passwords
// use bcrypt's minimum cost (cost 12 takes seconds under -race).
func userEachShards(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Helper()
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", n), func(t *testing.T) {
			f(t, NewStore(redistest.Start(t), StoreOptions{Shards: n, PasswordCost: bcrypt.MinCost}))
		})
	}
}

// userMust creates a user or fails the test.
func userMust(t *testing.T, s *Store, email string) *User {
	t.Helper()
	u, err := s.CreateUser(acctTestCtx(t), email, "User "+email, "correct horse battery")
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// userJoinMust adds a member or fails the test.
func userJoinMust(t *testing.T, s *Store, acct string, u *User, role Role) *Member {
	t.Helper()
	m, err := s.AddMember(acctTestCtx(t), acct, u.ID, role)
	if err != nil {
		t.Fatalf("AddMember(%s, %s, %s): %v", acct, u.Email, role, err)
	}
	return m
}

func TestCreateUser(t *testing.T) {
	s := NewStore(redistest.Start(t), StoreOptions{})
	ctx := acctTestCtx(t)
	first, err := s.CreateUser(ctx, " Alice@Example.COM ", " Alice ", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if first.Email != "alice@example.com" || first.Name != "Alice" || !strings.HasPrefix(first.ID, "u") {
		t.Fatalf("created %+v", first)
	}
	h, err := s.rdb.HGetAll(ctx, s.gkey("user", first.ID)).Result()
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
		{"taken, other case", "alice@EXAMPLE.com", "A", "correct horse battery", ErrEmailTaken, "alice@example.com"},
		{"not an email", "alice", "A", "correct horse battery", ErrInvalid, "email:"},
		{"display name", "Bob <bob@example.com>", "B", "correct horse battery", ErrInvalid, "email:"},
		{"no name", "bob@example.com", " ", "correct horse battery", ErrInvalid, "name:"},
		{"short password", "bob@example.com", "Bob", "123456789", ErrInvalid, "password: shorter than 10"},
		{"long password", "bob@example.com", "Bob", strings.Repeat("x", 73), ErrInvalid, "password: longer than 72"},
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
	if c, err := bcrypt.Cost([]byte(userDummyHash)); err != nil || c != userBcryptCost {
		t.Fatalf("userDummyHash cost %d, %v; want %d", c, err, userBcryptCost)
	}
	if _, err := s.GetUser(ctx, "u-nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetUser(unknown) = %v, want ErrNotFound", err)
	}
}

func TestLoginAndUserKeys(t *testing.T) {
	clock := &userClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	s := NewStore(redistest.Start(t), StoreOptions{Now: clock.Now, PasswordCost: bcrypt.MinCost})
	ctx := acctTestCtx(t)
	root := acctMustCreate(t, s, Account{Name: "Root"})
	sub := acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID})
	alice := userMust(t, s, "alice@example.com")
	userJoinMust(t, s, sub.ID, alice, RoleAdvanced)

	secret, key, err := s.Login(ctx, "Alice@example.com", "correct horse battery", sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if key.UserID != alice.ID || key.Role != RoleAdvanced || !key.ExpiresAt.Equal(clock.Now().Add(SessionTTL)) {
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
		{"wrong password", "alice@example.com", "wrong horse battery", sub.ID, ErrBadCredentials},
		{"unknown email", "mallory@example.com", "correct horse battery", sub.ID, ErrBadCredentials},
		{"not an email", "mallory", "correct horse battery", sub.ID, ErrBadCredentials},
		{"not a member", "alice@example.com", "correct horse battery", root.ID, ErrNotMember},
		{"no such account", "alice@example.com", "correct horse battery", "a0-nothing", ErrNotMember},
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

	auth := func(t *testing.T, secret string, want Role) {
		t.Helper()
		k, err := s.Authenticate(ctx, secret)
		switch {
		case want == "" && !errors.Is(err, ErrBadKey):
			t.Fatalf("Authenticate = %+v, %v; want ErrBadKey", k, err)
		case want != "" && (err != nil || k.Role != want || k.UserEmail != "alice@example.com"):
			t.Fatalf("Authenticate = %+v, %v; want role %s", k, err, want)
		}
	}
	auth(t, secret, RoleAdvanced)
	auth(t, personal, RoleAdvanced)

	// A role change applies at the next call.
	if _, err := s.UpdateMember(ctx, sub.ID, alice.ID, MemberUpdate{Role: RoleBasic}); err != nil {
		t.Fatal(err)
	}
	auth(t, secret, RoleBasic)

	// Sessions expire; personal keys do not.
	clock.Add(SessionTTL)
	auth(t, secret, "")
	auth(t, personal, RoleBasic)

	// Removal kills the member's keys, and a new membership does not revive them.
	if err := s.RemoveMember(ctx, sub.ID, alice.ID, ""); err != nil {
		t.Fatal(err)
	}
	auth(t, personal, "")
	if n, _ := s.rdb.Exists(ctx, s.gkey("key", pkey.ID)).Result(); n != 0 {
		t.Fatalf("personal key %s still stored after removal", pkey.ID)
	}
	if keys, _ := s.ListKeys(ctx, sub.ID); len(keys) != 0 {
		t.Fatalf("keys after removal: %+v", keys)
	}
	userJoinMust(t, s, sub.ID, alice, RoleAdvanced)
	auth(t, personal, "")
	if _, _, err := s.CreateUserKey(ctx, root.ID, alice.ID, "x", time.Time{}); !errors.Is(err, ErrNotMember) {
		t.Fatalf("CreateUserKey outside membership = %v, want ErrNotMember", err)
	}
	if accts, err := s.UserAccounts(ctx, alice.ID); err != nil || len(accts) != 1 || accts[0] != sub.ID {
		t.Fatalf("UserAccounts = %v, %v", accts, err)
	}
}

func TestMembersOwnerAndLastAdmin(t *testing.T) {
	userEachShards(t, func(t *testing.T, s *Store) {
		ctx := acctTestCtx(t)
		root := acctMustCreate(t, s, Account{Name: "Root"})
		sub := acctMustCreate(t, s, Account{Name: "Sub", ParentID: root.ID})
		ann, bob, cat := userMust(t, s, "ann@example.com"), userMust(t, s, "bob@example.com"), userMust(t, s, "cat@example.com")
		boss := userMust(t, s, "boss@example.com")

		if m := userJoinMust(t, s, sub.ID, cat, RoleBasic); m.Owner {
			t.Fatal("a basic member became owner")
		}
		if m := userJoinMust(t, s, sub.ID, ann, RoleSubAdmin); !m.Owner {
			t.Fatal("the first admin is not the owner")
		}
		if m := userJoinMust(t, s, sub.ID, bob, RoleSubAdmin); m.Owner {
			t.Fatal("a second admin became owner")
		}
		userJoinMust(t, s, root.ID, boss, RoleParentAdmin)
		if _, err := s.AddMember(ctx, sub.ID, ann.ID, RoleBasic); !errors.Is(err, ErrAlreadyMember) {
			t.Fatalf("AddMember twice = %v", err)
		}
		if _, err := s.AddMember(ctx, sub.ID, boss.ID, RoleParentAdmin); !errors.Is(err, ErrInvalid) {
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
			user   *User
			up     MemberUpdate
			remove bool
			want   error
			owner  string // after the step
		}{
			{"make bob owner un-owns ann", bob, MemberUpdate{Owner: on}, false, nil, "bob@example.com"},
			{"bob switches himself to member", bob, MemberUpdate{Owner: off}, false, nil, ""},
			{"and back again", bob, MemberUpdate{Owner: on}, false, nil, "bob@example.com"},
			{"a basic owner is refused", cat, MemberUpdate{Owner: on}, false, ErrOwnerNotAdmin, "bob@example.com"},
			{"demoting the owner alone is refused", bob, MemberUpdate{Role: RoleAdvanced}, false, ErrOwnerNotAdmin, "bob@example.com"},
			{"demote and un-own together", bob, MemberUpdate{Role: RoleAdvanced, Owner: off}, false, nil, ""},
			{"the last admin cannot be demoted", ann, MemberUpdate{Role: RoleBasic}, false, ErrLastAdmin, ""},
			{"nor removed", ann, MemberUpdate{}, true, ErrLastAdmin, ""},
			{"parent_admin is not a sub-account role", cat, MemberUpdate{Role: RoleParentAdmin}, false, ErrInvalid, ""},
			{"an advanced caller cannot touch an admin", ann, MemberUpdate{Role: RoleBasic, MaxRole: RoleAdvanced}, false, ErrRoleAbove, ""},
			{"promote cat", cat, MemberUpdate{Role: RoleSubAdmin, MaxRole: RoleSubAdmin}, false, nil, ""},
			{"now ann can go", ann, MemberUpdate{}, true, nil, ""},
			{"cat takes ownership", cat, MemberUpdate{Owner: on}, false, nil, "cat@example.com"},
			{"removing a member keeps the owner", bob, MemberUpdate{}, true, nil, "cat@example.com"},
			{"not a member", ann, MemberUpdate{Role: RoleBasic}, false, ErrNotFound, "cat@example.com"},
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
		if err != nil || m.Role != RoleSubAdmin || !m.Owner || m.Email != "cat@example.com" || m.JoinedAt.IsZero() {
			t.Fatalf("GetMember = %+v, %v", m, err)
		}
		if _, err := s.GetMember(ctx, root.ID, cat.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetMember of another account = %v, want ErrNotFound", err)
		}
		// Removing a member leaves the account as it was.
		a, err := s.GetAccount(ctx, sub.ID)
		if err != nil || a.Name != "Sub" || a.Status != StatusActive {
			t.Fatalf("account after removals: %+v, %v", a, err)
		}
	})
}

// TestLoginThrottle: wrong passwords are bounded per email, known or not;
// once over the limit even the right password is refused until the window
// has passed.
func TestLoginThrottle(t *testing.T) {
	now := time.Unix(2_000_000, 0)
	rdb := redistest.Start(t)
	s := NewStore(rdb, StoreOptions{PasswordCost: 4, Now: func() time.Time { return now }})
	ctx := t.Context()
	a, err := s.CreateAccount(ctx, Account{Name: "T"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, "Eve@Example.com", "Eve", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, a.ID, u.ID, RoleSubAdmin); err != nil {
		t.Fatal(err)
	}
	for i := range LoginMaxFailures {
		if _, _, err := s.Login(ctx, "eve@example.com", "wrong", a.ID); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "EVE@example.com", "correct horse battery", a.ID); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("right password over the limit: %v, want ErrTooManyAttempts", err)
	}
	for range LoginMaxFailures {
		_, _, _ = s.Login(ctx, "nobody@example.com", "x", "")
	}
	if _, _, err := s.Login(ctx, "nobody@example.com", "x", ""); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("unknown email over the limit: %v (the limit must not reveal which emails exist)", err)
	}
	// The window passes (Redis expires the counter).
	rdb.Del(ctx, "smsgate:login:fail:eve@example.com")
	if _, _, err := s.Login(ctx, "eve@example.com", "correct horse battery", a.ID); err != nil {
		t.Errorf("after the window: %v", err)
	}
}
