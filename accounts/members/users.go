package members

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/user_member_update.lua
	userMemberUpdateLua    string
	userMemberUpdateScript = store.NewScript("members/user_member_update.lua", userMemberUpdateLua)

	//go:embed lua/user_member_remove.lua
	userMemberRemoveLua    string
	userMemberRemoveScript = store.NewScript("members/user_member_remove.lua", userMemberRemoveLua)

	//go:embed lua/user_join.lua
	userJoinLua    string
	userJoinScript = store.NewScript("members/user_join.lua", userJoinLua)
)

// CreateUser stores a new user. The email is normalised (lower-cased) and
// must be unused (ErrEmailTaken); the name is 1 to 100 characters; the
// password at least 10 characters and at most 72 bytes. The password is
// kept only as a bcrypt hash.
func (s *Store) CreateUser(ctx context.Context, email, name, password string) (*accounts.User, error) {
	email, err := userNormEmail(email)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, accounts.Invalidf("name: required for a new user")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > accounts.MaxNameLen:
		return nil, accounts.Invalidf("name: longer than %d characters or not UTF-8", accounts.MaxNameLen)
	}
	if err := accounts.CheckName("name", name); err != nil {
		return nil, err
	}
	if err := userCheckPassword(password); err != nil {
		return nil, err
	}
	// A cheap early answer; the SET NX below decides races.
	switch _, _, err := s.userByEmail(ctx, email); {
	case err == nil:
		return nil, fmt.Errorf("%w: email: %s", accounts.ErrEmailTaken, email)
	case !errors.Is(err, accounts.ErrNotFound):
		return nil, fmt.Errorf("create user: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.PasswordCost)
	if err != nil {
		return nil, fmt.Errorf("create user: hash password: %w", err)
	}
	u := &accounts.User{ID: store.NewID("u", 10), Email: email, Name: name, CreatedAt: time.UnixMilli(s.Now().UnixMilli())}
	// The record first, then the email claim: a crash in between leaves an
	// unreachable record, never an email that names no user.
	err = s.RDB.HSet(ctx, s.Keys.User(u.ID), "id", u.ID, "email", u.Email, "name", u.Name,
		"password_hash", string(hash), "created_at", strconv.FormatInt(u.CreatedAt.UnixMilli(), 10)).Err()
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", email, err)
	}
	ok, err := s.RDB.SetNX(ctx, s.Keys.UserByEmail(email), u.ID, 0).Result()
	if err != nil || !ok {
		_ = s.RDB.Del(context.WithoutCancel(ctx), s.Keys.User(u.ID)).Err()
	}
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", email, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: email: %s", accounts.ErrEmailTaken, email)
	}
	return u, nil
}

// GetUser returns the user with id, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (*accounts.User, error) {
	u, _, err := s.userLoad(ctx, id)
	return u, err
}

// UserByEmail returns the user with this email (any case), or ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*accounts.User, error) {
	u, _, err := s.userByEmail(ctx, email)
	return u, err
}

// Login checks a user's email and password and returns a new session key
// for their membership of accountID, valid for SessionTTL; its secret is
// returned once. An unknown email and a wrong password are the same
// ErrBadCredentials, after the same bcrypt work. With accountID empty, the
// user's only account is used. ErrNotMember if the user is not a member of
// accountID (whether or not it exists); ErrDeactivated if it is deactivated.
func (s *Store) Login(ctx context.Context, email, password, accountID string) (string, *accounts.APIKey, error) {
	u, err := s.checkPassword(ctx, email, password)
	if err != nil {
		return "", nil, err
	}
	if accountID == "" {
		accts, err := s.UserAccounts(ctx, u.ID)
		if err != nil {
			return "", nil, fmt.Errorf("login: %w", err)
		}
		if len(accts) != 1 {
			return "", nil, accounts.Invalidf("account_id: required: you are a member of %d accounts", len(accts))
		}
		accountID = accts[0]
	}
	if _, err := s.AcctActive(ctx, accountID); err != nil {
		if errors.Is(err, accounts.ErrNotFound) {
			return "", nil, fmt.Errorf("%w: account_id: you are not a member of account %s", accounts.ErrNotMember, accountID)
		}
		return "", nil, fmt.Errorf("login: %w", err)
	}
	return s.CreateUserKey(ctx, accountID, u.ID, "login session", s.Now().Add(accounts.SessionTTL))
}

// checkPassword returns the user with this email if password is theirs.
// An unknown email and a wrong password are the same ErrBadCredentials,
// after the same bcrypt work; guessing is bounded per email, known or not
// (so that the limit says nothing about which emails exist), before any
// bcrypt work: ErrTooManyAttempts.
func (s *Store) checkPassword(ctx context.Context, email, password string) (*accounts.User, error) {
	folded := strings.ToLower(strings.TrimSpace(email))
	failKey, knownKey := s.Keys.LoginFailures(folded), s.Keys.LoginKnownSources(folded)
	src := accounts.LoginSource(ctx)
	now := s.Now()
	// What the throttle knows, in one round trip: failures per email, per
	// source, and whether the user logged in from this source lately.
	pipe := s.RDB.Pipeline()
	emailFails := pipe.Get(ctx, failKey)
	var srcFails *redis.StringCmd
	var seen *redis.StringCmd
	if src != "" {
		srcFails = pipe.Get(ctx, s.Keys.LoginSourceFailures(src))
		seen = pipe.HGet(ctx, knownKey, src)
	}
	_, _ = pipe.Exec(ctx) // missing keys are redis.Nil; a failure reads as no failures
	known := false
	if seen != nil {
		if ms, err := seen.Int64(); err == nil && now.Sub(time.UnixMilli(ms)) < accounts.LoginKnownSourceTTL {
			known = true
		}
	}
	if srcFails != nil {
		if n, err := srcFails.Int(); err == nil && n >= accounts.LoginMaxSourceFailures {
			return nil, accounts.ErrTooManyAttempts
		}
	}
	if n, err := emailFails.Int(); err == nil && n >= accounts.LoginMaxFailures && !known {
		return nil, accounts.ErrTooManyAttempts
	}
	failed := func() error {
		pipe := s.RDB.TxPipeline()
		if !known {
			pipe.Incr(ctx, failKey)
			pipe.ExpireNX(ctx, failKey, accounts.LoginFailureWindow)
		}
		if src != "" {
			pipe.Incr(ctx, s.Keys.LoginSourceFailures(src))
			pipe.ExpireNX(ctx, s.Keys.LoginSourceFailures(src), accounts.LoginFailureWindow)
		}
		_, _ = pipe.Exec(ctx) // the limit is best effort; the answer stays "wrong password"
		return accounts.ErrBadCredentials
	}
	// bcrypt is CPU work: bound how much of it runs at once, so that a
	// flood of logins cannot starve every other request of the process.
	select {
	case s.PasswordWork <- struct{}{}:
		defer func() { <-s.PasswordWork }()
	case <-ctx.Done():
		return nil, fmt.Errorf("login: %w", ctx.Err())
	}
	u, hash, err := s.userByEmail(ctx, email)
	switch {
	case errors.Is(err, accounts.ErrNotFound), errors.Is(err, accounts.ErrInvalid):
		s.userDummyWork(password)
		return nil, failed()
	case err != nil:
		return nil, fmt.Errorf("login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return nil, failed()
	}
	if src != "" {
		pipe := s.RDB.TxPipeline()
		pipe.HSet(ctx, knownKey, src, now.UnixMilli())
		pipe.Expire(ctx, knownKey, accounts.LoginKnownSourceTTL)
		_, _ = pipe.Exec(ctx) // best effort: at worst the source stays unknown
	}
	return u, nil
}

// ListMembers returns the members of an account, by email.
func (s *Store) ListMembers(ctx context.Context, accountID string) ([]accounts.Member, error) {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	shard, _ := s.ShardFromID(accountID)
	pipe := s.RDB.Pipeline()
	roles := pipe.HGetAll(ctx, s.Keys.Members(shard, accountID))
	tags := pipe.HGetAll(ctx, s.Keys.Memberships(shard, accountID))
	owner := pipe.Get(ctx, s.Keys.Owner(shard, accountID))
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
	pipe = s.RDB.Pipeline()
	users := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		users[i] = pipe.HMGet(ctx, s.Keys.User(id), "email", "name")
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("list members of %s: %w", accountID, err)
		}
	}
	out := make([]accounts.Member, 0, len(ids))
	for i, id := range ids {
		v := users[i].Val()
		email, _ := v[0].(string)
		name, _ := v[1].(string)
		out = append(out, accounts.Member{AccountID: accountID, UserID: id, Email: email, Name: name,
			Role: accounts.Role(roles.Val()[id]), Owner: owner.Val() == id, JoinedAt: userTagTime(tags.Val()[id])})
	}
	slices.SortFunc(out, func(x, y accounts.Member) int { return strings.Compare(x.Email, y.Email) })
	return out, nil
}

// GetMember returns one member of an account, or ErrNotFound (also for a
// user who exists but is not a member).
func (s *Store) GetMember(ctx context.Context, accountID, userID string) (*accounts.Member, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return nil, err
	}
	pipe := s.RDB.Pipeline()
	role := pipe.HGet(ctx, s.Keys.Members(shard, accountID), userID)
	tag := pipe.HGet(ctx, s.Keys.Memberships(shard, accountID), userID)
	owner := pipe.Get(ctx, s.Keys.Owner(shard, accountID))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("get member %s of %s: %w", userID, accountID, err)
	}
	if role.Val() == "" {
		return nil, fmt.Errorf("member %s of account %s: %w", userID, accountID, accounts.ErrNotFound)
	}
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("get member %s of %s: %w", userID, accountID, err)
	}
	return &accounts.Member{AccountID: accountID, UserID: userID, Email: u.Email, Name: u.Name, Role: accounts.Role(role.Val()),
		Owner: owner.Val() == userID, JoinedAt: userTagTime(tag.Val())}, nil
}

// UpdateMember changes a member's role and owner flag in one atomic step.
// ErrNotFound if the user is not a member; ErrInvalid for a role the
// account cannot have; ErrRoleAbove, ErrLastAdmin (demoting the last admin)
// and ErrOwnerNotAdmin (an owner that would not be an admin) refuse.
func (s *Store) UpdateMember(ctx context.Context, accountID, userID string, up accounts.MemberUpdate) (*accounts.Member, error) {
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
	shard, _ := s.ShardFromID(a.ID)
	keys := []string{s.Keys.Members(shard, a.ID), s.Keys.Owner(shard, a.ID)}
	res, err := s.Run(ctx, userMemberUpdateScript, keys, userID, string(up.Role), owner, accounts.RoleRank(up.MaxRole), keptAdmin(a)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("update member %s of %s: %w", userID, a.ID, err)
	}
	switch res[0] {
	case "ok":
		return s.GetMember(ctx, a.ID, userID)
	case "notmember":
		return nil, fmt.Errorf("member %s of account %s: %w", userID, a.ID, accounts.ErrNotFound)
	case "above":
		return nil, fmt.Errorf("%w: user %s is a %s of account %s; a %s cannot change them", accounts.ErrRoleAbove, userID, res[1], a.ID, up.MaxRole)
	case "lastadmin":
		return nil, fmt.Errorf("%w: role: user %s is the last %s of account %s; make another member one first", accounts.ErrLastAdmin, userID, adminKind(a), a.ID)
	default: // ownernotadmin
		return nil, fmt.Errorf("%w: owner: user %s of account %s would be a %s owner; the owner must be parent_admin or sub_admin (send \"owner\": false to demote them)",
			accounts.ErrOwnerNotAdmin, userID, a.ID, res[1])
	}
}

// RemoveMember ends a user's membership of an account and deletes the keys
// bound to it. The account's data (messages, inbox, ...) is untouched. The
// last admin cannot be removed (ErrLastAdmin); maxRole as in MemberUpdate.
func (s *Store) RemoveMember(ctx context.Context, accountID, userID string, maxRole accounts.Role) error {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return err
	}
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	keys := []string{s.Keys.Members(shard, accountID), s.Keys.Owner(shard, accountID), s.Keys.Memberships(shard, accountID)}
	res, err := s.Run(ctx, userMemberRemoveScript, keys, userID, accounts.RoleRank(maxRole), keptAdmin(a)).StringSlice()
	if err != nil {
		return fmt.Errorf("remove member %s of %s: %w", userID, accountID, err)
	}
	switch res[0] {
	case "ok":
	case "notmember":
		return fmt.Errorf("member %s of account %s: %w", userID, accountID, accounts.ErrNotFound)
	case "above":
		return fmt.Errorf("%w: user %s is a %s of account %s; a %s cannot remove them", accounts.ErrRoleAbove, userID, res[1], accountID, maxRole)
	default: // lastadmin
		return fmt.Errorf("%w: user %s is the last %s of account %s; make another member one first", accounts.ErrLastAdmin, userID, adminKind(a), accountID)
	}
	// The membership is gone, so the user's keys already fail to
	// authenticate (their membership tag matches nothing); delete them.
	ukeys := s.Keys.UserAPIKeys(shard, accountID, userID)
	ids, err := s.RDB.ZRange(ctx, ukeys, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("remove member %s of %s: keys: %w", userID, accountID, err)
	}
	for _, id := range ids {
		if err := s.RDB.Del(ctx, s.Keys.APIKey(id)).Err(); err != nil {
			return fmt.Errorf("remove member %s of %s: key %s: %w", userID, accountID, id, err)
		}
	}
	if len(ids) > 0 {
		if err := s.RDB.SRem(ctx, s.Keys.APIKeys(shard, accountID), ids).Err(); err != nil {
			return fmt.Errorf("remove member %s of %s: keys: %w", userID, accountID, err)
		}
	}
	if err := s.RDB.Del(ctx, ukeys).Err(); err != nil {
		return fmt.Errorf("remove member %s of %s: keys: %w", userID, accountID, err)
	}
	// The account keys they created through this membership (on the account
	// or, for a root, its sub-accounts) already fail to authenticate (their
	// creator's membership is gone); revoke them.
	if err := s.revokeCreated(ctx, shard, accountID, userID); err != nil {
		return fmt.Errorf("remove member %s of %s: %w", userID, accountID, err)
	}
	if err := s.RDB.SRem(ctx, s.Keys.UserAccounts(userID), accountID).Err(); err != nil {
		return fmt.Errorf("remove member %s of %s: %w", userID, accountID, err)
	}
	return nil
}

// UserAccounts returns the ids of the accounts a user is a member of, sorted.
func (s *Store) UserAccounts(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.RDB.SMembers(ctx, s.Keys.UserAccounts(userID)).Result()
	if err != nil {
		return nil, fmt.Errorf("accounts of user %s: %w", userID, err)
	}
	// The set is an index written before the membership: verify each entry.
	out := []string{}
	for _, id := range ids {
		shard, err := s.ShardFromID(id)
		if err != nil {
			continue
		}
		ok, err := s.RDB.HExists(ctx, s.Keys.Members(shard, id), userID).Result()
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
	if s.PasswordCost == accounts.DefaultPasswordCost {
		_ = bcrypt.CompareHashAndPassword([]byte(accounts.DummyPasswordHash), []byte(password))
		return
	}
	// Another cost (tests): hashing costs what comparing at that cost does.
	_, _ = bcrypt.GenerateFromPassword([]byte(password), s.PasswordCost)
}

// userMembership returns a member's role and membership tag; ErrNotMember
// if there is none.
func (s *Store) userMembership(ctx context.Context, accountID, userID string) (accounts.Role, string, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return "", "", fmt.Errorf("%w: account_id: you are not a member of account %s", accounts.ErrNotMember, accountID)
	}
	pipe := s.RDB.Pipeline()
	role := pipe.HGet(ctx, s.Keys.Members(shard, accountID), userID)
	tag := pipe.HGet(ctx, s.Keys.Memberships(shard, accountID), userID)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", "", fmt.Errorf("membership of %s in %s: %w", userID, accountID, err)
	}
	if role.Val() == "" || tag.Val() == "" {
		return "", "", fmt.Errorf("%w: account_id: you are not a member of account %s", accounts.ErrNotMember, accountID)
	}
	return accounts.Role(role.Val()), tag.Val(), nil
}

func (s *Store) userLoad(ctx context.Context, id string) (*accounts.User, string, error) {
	if !strings.HasPrefix(id, "u") {
		return nil, "", fmt.Errorf("user %q: %w", id, accounts.ErrNotFound)
	}
	h, err := s.RDB.HGetAll(ctx, s.Keys.User(id)).Result()
	if err != nil {
		return nil, "", fmt.Errorf("get user %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, "", fmt.Errorf("user %q: %w", id, accounts.ErrNotFound)
	}
	ms, err := strconv.ParseInt(h["created_at"], 10, 64)
	if err != nil {
		return nil, "", fmt.Errorf("user %s: field created_at: %w", id, err)
	}
	return &accounts.User{ID: id, Email: h["email"], Name: h["name"], CreatedAt: time.UnixMilli(ms)}, h["password_hash"], nil
}

func (s *Store) userByEmail(ctx context.Context, email string) (*accounts.User, string, error) {
	email, err := userNormEmail(email)
	if err != nil {
		return nil, "", err
	}
	id, err := s.RDB.Get(ctx, s.Keys.UserByEmail(email)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, "", fmt.Errorf("user %s: %w", email, accounts.ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("user %s: %w", email, err)
	}
	return s.userLoad(ctx, id)
}

// userNormEmail validates and lower-cases an email address.
func userNormEmail(email string) (string, error) {
	e, err := accounts.NormalizeAddress(email)
	if err != nil {
		return "", accounts.Invalidf("email: %q is not an email address", strings.TrimSpace(email))
	}
	return e, nil
}

func userCheckPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < accounts.MinPasswordLen:
		return accounts.Invalidf("password: shorter than %d characters", accounts.MinPasswordLen)
	case len(pw) > accounts.MaxPasswordLen:
		return accounts.Invalidf("password: longer than %d bytes", accounts.MaxPasswordLen)
	}
	return nil
}

// userRoleFits checks that role exists and that account a can have it:
// parent_admin only in root accounts.
func userRoleFits(a *accounts.Account, role accounts.Role) error {
	if !role.Valid() {
		return accounts.Invalidf("role: %q must be one of parent_admin, sub_admin, advanced, basic", role)
	}
	if role == accounts.RoleParentAdmin && a.ParentID != "" {
		return accounts.Invalidf("role: parent_admin is a role of parent accounts; %s is a sub-account", a.ID)
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

// keptAdmin is the admin role an account must always have a member of: a
// root account is run by its parent_admins (a sub_admin cannot manage its
// sub-accounts or money), a sub-account by any admin.
func keptAdmin(a *accounts.Account) string {
	if a.ParentID == "" {
		return string(accounts.RoleParentAdmin)
	}
	return ""
}

// adminKind names keptAdmin for messages.
func adminKind(a *accounts.Account) string {
	if a.ParentID == "" {
		return string(accounts.RoleParentAdmin)
	}
	return "admin"
}
