package accounts

// Users and memberships.
//
// A User is a person who logs in: {ID ("u"+random), Email (lower-cased,
// unique system-wide), Name, password (bcrypt, cost 12 unless
// StoreOptions.PasswordCost says otherwise; never logged or
// returned), CreatedAt}. A user is a member of one or more accounts, each
// time with a Role (parent_admin only in root accounts; sub_admin, advanced
// and basic anywhere) and at most one member of each account is its Owner
// (seed 004's team owner): an admin, by default the first admin to join.
// What each role may do is decided by the API (api/auth.go); the store only
// keeps roles and the invariants below.
//
// Invariants, each kept by one Lua script on the account's shard:
//   - the owner is an admin member (parent_admin or sub_admin);
//   - making a member owner un-owns the previous owner; an owner can switch
//     itself off and on again (the role stays, so the switch is reversible);
//   - an account that has an admin member keeps one: removing or demoting
//     the last admin is ErrLastAdmin.
//
// Keyspace (P is the store's prefix):
//
//	P:user:<id>                   HASH   id, email, name, password_hash, created_at   (global)
//	P:user:email:<email>          STRING user id; SET NX makes emails unique          (global)
//	P:user:accts:<id>             SET    account ids: an index, verified on read      (global)
//	P:{sN}:members:<acct>         HASH   user id -> role (the membership itself)
//	P:{sN}:memberships:<acct>     HASH   user id -> membership tag "<nonce>.<joined ms>"
//	P:{sN}:owner:<acct>           STRING the owner's user id
//	P:{sN}:ukeys:<acct>:<user>    ZSET   the user's keys of the account -> expiry (0: none)
//
// A user-bound API key records the membership tag it was issued under;
// Authenticate re-reads the member's role and tag on every call, so a role
// change takes effect at once, and a removed member's keys stop working even
// if their deletion was interrupted, and do not come back if the user is
// invited again (the new membership has a new tag).

import (
	"context"
	_ "embed" // Lua scripts
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
)

var (
	//go:embed lua/user_member_update.lua
	userMemberUpdateLua    string
	userMemberUpdateScript = redis.NewScript(userMemberUpdateLua)

	//go:embed lua/user_member_remove.lua
	userMemberRemoveLua    string
	userMemberRemoveScript = redis.NewScript(userMemberRemoveLua)

	//go:embed lua/user_join.lua
	userJoinLua    string
	userJoinScript = redis.NewScript(userJoinLua)
)

// User errors, tested with errors.Is. The wrapped text after the sentinel
// names the field and the value, for the API's problem detail.
var (
	ErrEmailTaken     = errors.New("a user with this email exists")
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrTooManyAttempts: LoginMaxFailures wrong passwords for an email
	// within LoginFailureWindow; logins for it are refused until the window
	// has passed, right password or not.
	ErrTooManyAttempts = errors.New("too many failed logins: try again later")
	ErrNotMember       = errors.New("not a member of the account")
	ErrAlreadyMember   = errors.New("already a member of the account")
	ErrLastAdmin       = errors.New("the account's last admin")
	ErrOwnerNotAdmin   = errors.New("the owner must be an admin")
	ErrRoleAbove       = errors.New("the member's role is above the caller's")
	ErrInvitePending   = errors.New("an invitation is pending")
	ErrInvitationGone  = errors.New("the invitation can no longer be accepted")
	ErrInvitationTaken = errors.New("the invitation was already accepted")
)

// Password rules: bcrypt reads at most 72 bytes, and refuses longer input.
const (
	userMinPassword = 10
	userMaxPassword = 72
	userBcryptCost  = 12
	// SessionTTL is how long a login session key works.
	SessionTTL = 12 * time.Hour
	// userDummyHash is a bcrypt hash (cost 12) of a password nobody uses:
	// Login compares against it when the email is unknown, so that unknown
	// emails cost as much time as wrong passwords.
	userDummyHash = "$2a$12$Hmfx9Od8Iukn9wQeSzSQT.GL5U6WHV86q.zJv9f3uunqL29WBwi26"
)

// User is a person who logs in. The password hash never leaves the store.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Member is a user's membership of an account.
type Member struct {
	AccountID string    `json:"account_id"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Owner     bool      `json:"owner"`
	JoinedAt  time.Time `json:"joined_at,omitzero"`
}

// MemberUpdate is a change to a member. Zero fields leave things as they are.
type MemberUpdate struct {
	Role  Role  // new role; empty: unchanged
	Owner *bool // make the member the account's owner (un-owning the previous one), or not
	// MaxRole, if set, is the caller's role: a member whose current role
	// ranks above it is not touched (ErrRoleAbove). The new role is the
	// caller's to check.
	MaxRole Role
}

// RoleRank orders roles: a higher rank may do everything a lower one may.
// Unknown roles rank 0.
func RoleRank(r Role) int {
	switch r {
	case RoleParentAdmin:
		return 4
	case RoleSubAdmin:
		return 3
	case RoleAdvanced:
		return 2
	case RoleBasic:
		return 1
	}
	return 0
}

// IsAdmin reports whether r administers an account (and so may own it).
func (r Role) IsAdmin() bool { return r == RoleParentAdmin || r == RoleSubAdmin }

// CreateUser stores a new user. The email is normalised (lower-cased) and
// must be unused (ErrEmailTaken); the name is 1 to 100 characters; the
// password at least 10 characters and at most 72 bytes. The password is
// kept only as a bcrypt hash.
func (s *Store) CreateUser(ctx context.Context, email, name, password string) (*User, error) {
	email, err := userNormEmail(email)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, acctInvalid("name: required for a new user")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > acctMaxNameLen:
		return nil, acctInvalid("name: longer than %d characters or not UTF-8", acctMaxNameLen)
	}
	if err := userCheckPassword(password); err != nil {
		return nil, err
	}
	// A cheap early answer; the SET NX below decides races.
	switch _, _, err := s.userByEmail(ctx, email); {
	case err == nil:
		return nil, fmt.Errorf("%w: email: %s", ErrEmailTaken, email)
	case !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("create user: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.pwCost)
	if err != nil {
		return nil, fmt.Errorf("create user: hash password: %w", err)
	}
	u := &User{ID: newID("u", 10), Email: email, Name: name, CreatedAt: time.UnixMilli(s.now().UnixMilli())}
	// The record first, then the email claim: a crash in between leaves an
	// unreachable record, never an email that names no user.
	err = s.rdb.HSet(ctx, s.gkey("user", u.ID), "id", u.ID, "email", u.Email, "name", u.Name,
		"password_hash", string(hash), "created_at", strconv.FormatInt(u.CreatedAt.UnixMilli(), 10)).Err()
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", email, err)
	}
	ok, err := s.rdb.SetNX(ctx, s.gkey("user", "email", email), u.ID, 0).Result()
	if err != nil || !ok {
		_ = s.rdb.Del(context.WithoutCancel(ctx), s.gkey("user", u.ID)).Err()
	}
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", email, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: email: %s", ErrEmailTaken, email)
	}
	return u, nil
}

// GetUser returns the user with id, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (*User, error) {
	u, _, err := s.userLoad(ctx, id)
	return u, err
}

// UserByEmail returns the user with this email (any case), or ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	u, _, err := s.userByEmail(ctx, email)
	return u, err
}

// Login checks a user's email and password and returns a new session key
// for their membership of accountID, valid for SessionTTL; its secret is
// returned once. An unknown email and a wrong password are the same
// ErrBadCredentials, after the same bcrypt work. With accountID empty, the
// user's only account is used. ErrNotMember if the user is not a member of
// accountID (whether or not it exists); ErrDeactivated if it is deactivated.
func (s *Store) Login(ctx context.Context, email, password, accountID string) (string, *APIKey, error) {
	// Password guessing is bounded per email, known or not (so that the
	// limit says nothing about which emails exist), before any bcrypt work.
	failKey := s.gkey("login", "fail", strings.ToLower(strings.TrimSpace(email)))
	if n, err := s.rdb.Get(ctx, failKey).Int(); err == nil && n >= LoginMaxFailures {
		return "", nil, ErrTooManyAttempts
	}
	failed := func() error {
		pipe := s.rdb.TxPipeline()
		pipe.Incr(ctx, failKey)
		pipe.ExpireNX(ctx, failKey, LoginFailureWindow)
		_, _ = pipe.Exec(ctx) // the limit is best effort; the answer stays "wrong password"
		return ErrBadCredentials
	}
	u, hash, err := s.userByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalid):
		s.userDummyWork(password)
		return "", nil, failed()
	case err != nil:
		return "", nil, fmt.Errorf("login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return "", nil, failed()
	}
	if accountID == "" {
		accts, err := s.UserAccounts(ctx, u.ID)
		if err != nil {
			return "", nil, fmt.Errorf("login: %w", err)
		}
		if len(accts) != 1 {
			return "", nil, acctInvalid("account_id: required: you are a member of %d accounts", len(accts))
		}
		accountID = accts[0]
	}
	if _, err := s.acctActive(ctx, accountID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", nil, fmt.Errorf("%w: account_id: you are not a member of account %s", ErrNotMember, accountID)
		}
		return "", nil, fmt.Errorf("login: %w", err)
	}
	return s.CreateUserKey(ctx, accountID, u.ID, "login session", s.now().Add(SessionTTL))
}

// Login throttling: at most LoginMaxFailures wrong passwords per email
// within LoginFailureWindow.
const (
	LoginMaxFailures   = 10
	LoginFailureWindow = 15 * time.Minute
)

// ListMembers returns the members of an account, by email.
func (s *Store) ListMembers(ctx context.Context, accountID string) ([]Member, error) {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	shard, _ := s.shardFromID(accountID)
	pipe := s.rdb.Pipeline()
	roles := pipe.HGetAll(ctx, s.skey(shard, "members", accountID))
	tags := pipe.HGetAll(ctx, s.skey(shard, "memberships", accountID))
	owner := pipe.Get(ctx, s.skey(shard, "owner", accountID))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("list members of %s: %w", accountID, err)
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range roles.Val() {
			if !yield(id) {
				return
			}
		}
	})
	pipe = s.rdb.Pipeline()
	users := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		users[i] = pipe.HMGet(ctx, s.gkey("user", id), "email", "name")
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("list members of %s: %w", accountID, err)
		}
	}
	out := make([]Member, 0, len(ids))
	for i, id := range ids {
		v := users[i].Val()
		email, _ := v[0].(string)
		name, _ := v[1].(string)
		out = append(out, Member{AccountID: accountID, UserID: id, Email: email, Name: name,
			Role: Role(roles.Val()[id]), Owner: owner.Val() == id, JoinedAt: userTagTime(tags.Val()[id])})
	}
	slices.SortFunc(out, func(x, y Member) int { return strings.Compare(x.Email, y.Email) })
	return out, nil
}

// GetMember returns one member of an account, or ErrNotFound (also for a
// user who exists but is not a member).
func (s *Store) GetMember(ctx context.Context, accountID, userID string) (*Member, error) {
	shard, err := s.shardFromID(accountID)
	if err != nil {
		return nil, err
	}
	pipe := s.rdb.Pipeline()
	role := pipe.HGet(ctx, s.skey(shard, "members", accountID), userID)
	tag := pipe.HGet(ctx, s.skey(shard, "memberships", accountID), userID)
	owner := pipe.Get(ctx, s.skey(shard, "owner", accountID))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("get member %s of %s: %w", userID, accountID, err)
	}
	if role.Val() == "" {
		return nil, fmt.Errorf("member %s of account %s: %w", userID, accountID, ErrNotFound)
	}
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("get member %s of %s: %w", userID, accountID, err)
	}
	return &Member{AccountID: accountID, UserID: userID, Email: u.Email, Name: u.Name, Role: Role(role.Val()),
		Owner: owner.Val() == userID, JoinedAt: userTagTime(tag.Val())}, nil
}

// UpdateMember changes a member's role and owner flag in one atomic step.
// ErrNotFound if the user is not a member; ErrInvalid for a role the
// account cannot have; ErrRoleAbove, ErrLastAdmin (demoting the last admin)
// and ErrOwnerNotAdmin (an owner that would not be an admin) refuse.
func (s *Store) UpdateMember(ctx context.Context, accountID, userID string, up MemberUpdate) (*Member, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("update member: %w", err)
	}
	if up.Role != "" {
		if err := userRoleFits(a, up.Role); err != nil {
			return nil, err
		}
	}
	owner := ""
	if up.Owner != nil {
		owner = map[bool]string{true: "1", false: "0"}[*up.Owner]
	}
	shard, _ := s.shardFromID(a.ID)
	keys := []string{s.skey(shard, "members", a.ID), s.skey(shard, "owner", a.ID)}
	res, err := userMemberUpdateScript.Run(ctx, s.rdb, keys, userID, string(up.Role), owner, RoleRank(up.MaxRole)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("update member %s of %s: %w", userID, a.ID, err)
	}
	switch res[0] {
	case "ok":
		return s.GetMember(ctx, a.ID, userID)
	case "notmember":
		return nil, fmt.Errorf("member %s of account %s: %w", userID, a.ID, ErrNotFound)
	case "above":
		return nil, fmt.Errorf("%w: user %s is a %s of account %s; a %s cannot change them", ErrRoleAbove, userID, res[1], a.ID, up.MaxRole)
	case "lastadmin":
		return nil, fmt.Errorf("%w: role: user %s is the last admin of account %s; make another member an admin first", ErrLastAdmin, userID, a.ID)
	default: // ownernotadmin
		return nil, fmt.Errorf("%w: owner: user %s of account %s would be a %s owner; the owner must be parent_admin or sub_admin (send \"owner\": false to demote them)",
			ErrOwnerNotAdmin, userID, a.ID, res[1])
	}
}

// RemoveMember ends a user's membership of an account and deletes the keys
// bound to it. The account's data (messages, inbox, ...) is untouched. The
// last admin cannot be removed (ErrLastAdmin); maxRole as in MemberUpdate.
func (s *Store) RemoveMember(ctx context.Context, accountID, userID string, maxRole Role) error {
	shard, err := s.shardFromID(accountID)
	if err != nil {
		return err
	}
	keys := []string{s.skey(shard, "members", accountID), s.skey(shard, "owner", accountID), s.skey(shard, "memberships", accountID)}
	res, err := userMemberRemoveScript.Run(ctx, s.rdb, keys, userID, RoleRank(maxRole)).StringSlice()
	if err != nil {
		return fmt.Errorf("remove member %s of %s: %w", userID, accountID, err)
	}
	switch res[0] {
	case "ok":
	case "notmember":
		return fmt.Errorf("member %s of account %s: %w", userID, accountID, ErrNotFound)
	case "above":
		return fmt.Errorf("%w: user %s is a %s of account %s; a %s cannot remove them", ErrRoleAbove, userID, res[1], accountID, maxRole)
	default: // lastadmin
		return fmt.Errorf("%w: user %s is the last admin of account %s; make another member an admin first", ErrLastAdmin, userID, accountID)
	}
	// The membership is gone, so the user's keys already fail to
	// authenticate (their membership tag matches nothing); delete them.
	ukeys := s.skey(shard, "ukeys", accountID, userID)
	ids, err := s.rdb.ZRange(ctx, ukeys, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("remove member %s of %s: keys: %w", userID, accountID, err)
	}
	for _, id := range ids {
		if err := s.rdb.Del(ctx, s.gkey("key", id)).Err(); err != nil {
			return fmt.Errorf("remove member %s of %s: key %s: %w", userID, accountID, id, err)
		}
	}
	if len(ids) > 0 {
		if err := s.rdb.SRem(ctx, s.skey(shard, "keys", accountID), ids).Err(); err != nil {
			return fmt.Errorf("remove member %s of %s: keys: %w", userID, accountID, err)
		}
	}
	if err := s.rdb.Del(ctx, ukeys).Err(); err != nil {
		return fmt.Errorf("remove member %s of %s: keys: %w", userID, accountID, err)
	}
	if err := s.rdb.SRem(ctx, s.gkey("user", "accts", userID), accountID).Err(); err != nil {
		return fmt.Errorf("remove member %s of %s: %w", userID, accountID, err)
	}
	return nil
}

// UserAccounts returns the ids of the accounts a user is a member of, sorted.
func (s *Store) UserAccounts(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.gkey("user", "accts", userID)).Result()
	if err != nil {
		return nil, fmt.Errorf("accounts of user %s: %w", userID, err)
	}
	// The set is an index written before the membership: verify each entry.
	out := []string{}
	for _, id := range ids {
		shard, err := s.shardFromID(id)
		if err != nil {
			continue
		}
		ok, err := s.rdb.HExists(ctx, s.skey(shard, "members", id), userID).Result()
		if err != nil {
			return nil, fmt.Errorf("accounts of user %s: %w", userID, err)
		}
		if ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// userDummyWork spends the time of one password check, for unknown emails.
func (s *Store) userDummyWork(password string) {
	if s.pwCost == userBcryptCost {
		_ = bcrypt.CompareHashAndPassword([]byte(userDummyHash), []byte(password))
		return
	}
	// Another cost (tests): hashing costs what comparing at that cost does.
	_, _ = bcrypt.GenerateFromPassword([]byte(password), s.pwCost)
}

// userMembership returns a member's role and membership tag; ErrNotMember
// if there is none.
func (s *Store) userMembership(ctx context.Context, accountID, userID string) (Role, string, error) {
	shard, err := s.shardFromID(accountID)
	if err != nil {
		return "", "", fmt.Errorf("%w: account_id: you are not a member of account %s", ErrNotMember, accountID)
	}
	pipe := s.rdb.Pipeline()
	role := pipe.HGet(ctx, s.skey(shard, "members", accountID), userID)
	tag := pipe.HGet(ctx, s.skey(shard, "memberships", accountID), userID)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", "", fmt.Errorf("membership of %s in %s: %w", userID, accountID, err)
	}
	if role.Val() == "" || tag.Val() == "" {
		return "", "", fmt.Errorf("%w: account_id: you are not a member of account %s", ErrNotMember, accountID)
	}
	return Role(role.Val()), tag.Val(), nil
}

func (s *Store) userLoad(ctx context.Context, id string) (*User, string, error) {
	if !strings.HasPrefix(id, "u") {
		return nil, "", fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	h, err := s.rdb.HGetAll(ctx, s.gkey("user", id)).Result()
	if err != nil {
		return nil, "", fmt.Errorf("get user %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, "", fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	ms, err := strconv.ParseInt(h["created_at"], 10, 64)
	if err != nil {
		return nil, "", fmt.Errorf("user %s: field created_at: %w", id, err)
	}
	return &User{ID: id, Email: h["email"], Name: h["name"], CreatedAt: time.UnixMilli(ms)}, h["password_hash"], nil
}

func (s *Store) userByEmail(ctx context.Context, email string) (*User, string, error) {
	email, err := userNormEmail(email)
	if err != nil {
		return nil, "", err
	}
	id, err := s.rdb.Get(ctx, s.gkey("user", "email", email)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, "", fmt.Errorf("user %s: %w", email, ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("user %s: %w", email, err)
	}
	return s.userLoad(ctx, id)
}

// userNormEmail validates and lower-cases an email address.
func userNormEmail(email string) (string, error) {
	e, err := regNormalizeAddress(email)
	if err != nil {
		return "", acctInvalid("email: %q is not an email address", strings.TrimSpace(email))
	}
	return e, nil
}

func userCheckPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < userMinPassword:
		return acctInvalid("password: shorter than %d characters", userMinPassword)
	case len(pw) > userMaxPassword:
		return acctInvalid("password: longer than %d bytes", userMaxPassword)
	}
	return nil
}

// userRoleFits checks that role exists and that account a can have it:
// parent_admin only in root accounts.
func userRoleFits(a *Account, role Role) error {
	if !role.Valid() {
		return acctInvalid("role: %q must be one of parent_admin, sub_admin, advanced, basic", role)
	}
	if role == RoleParentAdmin && a.ParentID != "" {
		return acctInvalid("role: parent_admin is a role of parent accounts; %s is a sub-account", a.ID)
	}
	return nil
}

// userTagTime reads the join time from a membership tag "<nonce>.<ms>".
func userTagTime(tag string) time.Time {
	_, ms, ok := strings.Cut(tag, ".")
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}
