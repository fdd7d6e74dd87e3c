package members

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/user_invite.lua
	userInviteLua    string
	userInviteScript = store.NewScript("members/user_invite.lua", userInviteLua)

	//go:embed lua/user_revoke.lua
	userRevokeLua    string
	userRevokeScript = store.NewScript("members/user_revoke.lua", userRevokeLua)
)

const (
	// InvitationTTL is how long an invitation can be accepted by default.
	InvitationTTL = 7 * 24 * time.Hour
	// invMaxTTL bounds a requested lifetime.
	invMaxTTL = 30 * 24 * time.Hour
	// invRetention is how long a used, revoked or expired invitation is kept.
	invRetention = 30 * 24 * time.Hour
	// invTokenPrefix starts every invitation token.
	invTokenPrefix = "sgi_"
)

// CreateInvitation stores an invitation and returns its token, which is
// shown once. ErrAlreadyMember if the email's user is a member already;
// ErrInvitePending if the email has a pending invitation to the account.
func (s *Store) CreateInvitation(ctx context.Context, req accounts.InvitationRequest) (string, *accounts.Invitation, error) {
	a, err := s.GetAccount(ctx, req.AccountID)
	if err != nil {
		return "", nil, fmt.Errorf("create invitation: %w", err)
	}
	email, err := userNormEmail(req.Email)
	if err != nil {
		return "", nil, err
	}
	if err := userRoleFits(a, req.Role); err != nil {
		return "", nil, err
	}
	ttl := req.TTL
	switch {
	case ttl == 0:
		ttl = InvitationTTL
	case ttl < time.Minute || ttl > invMaxTTL:
		return "", nil, accounts.Invalidf("expires_in: %s is not between 1 minute and %s", ttl, invMaxTTL)
	}
	uid := ""
	switch u, err := s.UserByEmail(ctx, email); {
	case err == nil:
		uid = u.ID
	case !errors.Is(err, accounts.ErrNotFound):
		return "", nil, fmt.Errorf("create invitation: %w", err)
	}
	shard, _ := s.ShardFromID(a.ID)
	now := time.UnixMilli(s.Now().UnixMilli())
	// The quota counts pending invitations that have not expired.
	q, err := s.QuotasOf(ctx, a.ID)
	if err != nil {
		return "", nil, err
	}
	pending, err := s.RDB.ZCount(ctx, s.Keys.Invitations(shard, a.ID), strconv.FormatInt(now.UnixMilli(), 10), "+inf").Result()
	if err != nil {
		return "", nil, fmt.Errorf("create invitation: %w", err)
	}
	if pending >= q.Invitations {
		return "", nil, &accounts.QuotaError{Account: a.ID, Quota: accounts.QuotaInvitations, Limit: q.Invitations, Used: pending, Want: 1}
	}
	inv := &accounts.Invitation{
		ID: store.NewShardedID("i", shard), AccountID: a.ID, Email: email, Role: req.Role,
		CreatedBy: req.CreatedBy, CreatedAt: now, ExpiresAt: now.Add(ttl), Status: accounts.InvitePending,
	}
	token := invTokenPrefix + inv.ID + "_" + store.RandomSecret(32)
	keys := []string{s.Keys.Invitation(shard, inv.ID), s.Keys.Invitations(shard, a.ID), s.Keys.InvitationsByEmail(shard, a.ID),
		s.Keys.Members(shard, a.ID)}
	exp := inv.ExpiresAt.UnixMilli()
	args := []any{inv.ID, email, uid, now.UnixMilli(), exp, (ttl + invRetention).Milliseconds(),
		"id", inv.ID, "account_id", a.ID, "email", email, "role", string(inv.Role), "created_by", inv.CreatedBy,
		"created_at", now.UnixMilli(), "expires_at", exp, "token_hash", KeyHash(token), "status", accounts.InvitePending}
	res, err := s.Run(ctx, userInviteScript, keys, args...).StringSlice()
	if err != nil {
		return "", nil, fmt.Errorf("create invitation to %s: %w", a.ID, err)
	}
	switch res[0] {
	case "ok":
		return token, inv, nil
	case "member":
		return "", nil, fmt.Errorf("%w: email: %s is already a member of account %s", accounts.ErrAlreadyMember, email, a.ID)
	default: // pending
		return "", nil, fmt.Errorf("%w: email: %s already has pending invitation %s to account %s; revoke it first",
			accounts.ErrInvitePending, email, res[1], a.ID)
	}
}

// ListInvitations returns an account's pending (unexpired, unaccepted,
// unrevoked) invitations, oldest first.
func (s *Store) ListInvitations(ctx context.Context, accountID string) ([]accounts.Invitation, error) {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	shard, _ := s.ShardFromID(accountID)
	now := s.Now().UnixMilli()
	ids, err := s.RDB.ZRangeByScore(ctx, s.Keys.Invitations(shard, accountID), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now, 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("list invitations of %s: %w", accountID, err)
	}
	pipe := s.RDB.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.Keys.Invitation(shard, id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("list invitations of %s: %w", accountID, err)
		}
	}
	out := []accounts.Invitation{}
	for i, c := range cmds {
		inv, err := invFromHash(ids[i], c.Val())
		if errors.Is(err, accounts.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if inv.Status == accounts.InvitePending && inv.AccountID == accountID {
			out = append(out, *inv)
		}
	}
	slices.SortFunc(out, func(x, y accounts.Invitation) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out, nil
}

// RevokeInvitation revokes a pending invitation of accountID: its token
// stops working at once. ErrNotFound if there is no such pending invitation
// in this account; ErrInvitationTaken if it was accepted already.
func (s *Store) RevokeInvitation(ctx context.Context, accountID, invID string) error {
	if _, err := s.AcctKey(accountID); err != nil {
		return err
	}
	shard, err := s.ShardFromID(invID)
	if err != nil || !strings.HasPrefix(invID, "i") {
		return fmt.Errorf("invitation %q: %w", invID, accounts.ErrNotFound)
	}
	keys := []string{s.Keys.Invitation(shard, invID), s.Keys.Invitations(shard, accountID), s.Keys.InvitationsByEmail(shard, accountID)}
	res, err := s.Run(ctx, userRevokeScript, keys, invID, accountID, s.Now().UnixMilli(), invRetention.Milliseconds()).Text()
	if err != nil {
		return fmt.Errorf("revoke invitation %s: %w", invID, err)
	}
	switch res {
	case "ok":
		return nil
	case "used":
		return fmt.Errorf("%w: invitation %s was accepted; remove the member instead", accounts.ErrInvitationTaken, invID)
	default: // notfound, revoked
		return fmt.Errorf("invitation %q: %w", invID, accounts.ErrNotFound)
	}
}

// AcceptInvitation accepts an invitation by its token. If the invited email
// Has no user yet, one is created with name and password (at least 10
// characters); an existing user joins only by their own act: ctx signed in
// as them (WithActingUser), or password being theirs (a throttled login:
// ErrBadCredentials otherwise; ErrNotMember when signed in as someone
// else). Of
// concurrent accepts of one token exactly one succeeds. ErrNotFound for a
// token that matches no invitation; ErrInvitationGone for an expired,
// revoked or used one; ErrAlreadyMember if the user is a member already.
func (s *Store) AcceptInvitation(ctx context.Context, token, name, password string) (*accounts.Acceptance, error) {
	inv, err := s.invByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := invUsable(inv, s.Now()); err != nil {
		return nil, err
	}
	res := &accounts.Acceptance{}
	u, err := s.UserByEmail(ctx, inv.Email)
	if err == nil && accounts.ActingUser(ctx) != u.ID {
		// An existing user joins another account only by their own act:
		// signed in as themselves, or with their password (throttled like a
		// login). Whoever else holds the token (the inviter) cannot add
		// them, nor learn their id or name.
		if accounts.ActingUser(ctx) != "" {
			return nil, fmt.Errorf("%w: invitation %s is for another user's email", accounts.ErrNotMember, inv.ID)
		}
		if _, err := s.checkPassword(ctx, inv.Email, password); err != nil {
			return nil, fmt.Errorf("accept invitation: %s already has a user, who accepts with their own password or signed in: %w", inv.Email, err)
		}
	}
	if errors.Is(err, accounts.ErrNotFound) {
		u, err = s.CreateUser(ctx, inv.Email, name, password)
		res.NewUser = err == nil
		if errors.Is(err, accounts.ErrEmailTaken) { // created meanwhile: join as that user
			u, err = s.UserByEmail(ctx, inv.Email)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("accept invitation %s: %w", inv.ID, err)
	}
	res.User = u
	res.Member, err = s.userJoin(ctx, inv.AccountID, u, inv.Role, inv.ID, KeyHash(token))
	if err != nil {
		return nil, err
	}
	return res, nil
}

// AddMember makes a user a member of an account with role, without an
// invitation (operator tools, tests). ErrAlreadyMember if they are one.
func (s *Store) AddMember(ctx context.Context, accountID, userID string, role accounts.Role) (*accounts.Member, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("add member: %w", err)
	}
	if err := userRoleFits(a, role); err != nil {
		return nil, err
	}
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("add member: %w", err)
	}
	return s.userJoin(ctx, a.ID, u, role, "", "")
}

// userJoin runs user_join.lua: the membership, and with tokenHash set, the
// acceptance of invitation invID in the same step.
func (s *Store) userJoin(ctx context.Context, accountID string, u *accounts.User, role accounts.Role, invID, tokenHash string) (*accounts.Member, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return nil, err
	}
	if err := s.RDB.SAdd(ctx, s.Keys.UserAccounts(u.ID), accountID).Err(); err != nil {
		return nil, fmt.Errorf("join %s to %s: %w", u.ID, accountID, err)
	}
	now := time.UnixMilli(s.Now().UnixMilli())
	tag := store.RandomSecret(8) + "." + strconv.FormatInt(now.UnixMilli(), 10)
	invKey := s.Keys.Invitation(shard, "-")
	if invID != "" {
		invKey = s.Keys.Invitation(shard, invID)
	}
	keys := []string{
		s.Keys.Members(shard, accountID), s.Keys.Owner(shard, accountID), s.Keys.Memberships(shard, accountID),
		invKey, s.Keys.Invitations(shard, accountID), s.Keys.InvitationsByEmail(shard, accountID),
	}
	res, err := s.Run(ctx, userJoinScript, keys, u.ID, string(role), tag, now.UnixMilli(), tokenHash,
		invRetention.Milliseconds(), accountID).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("join %s to %s: %w", u.ID, accountID, err)
	}
	switch res[0] {
	case "ok":
		return &accounts.Member{AccountID: accountID, UserID: u.ID, Email: u.Email, Name: u.Name, Role: accounts.Role(res[1]),
			Owner: res[2] == "1", JoinedAt: now}, nil
	case "member":
		return nil, fmt.Errorf("%w: email: %s is already a member of account %s", accounts.ErrAlreadyMember, u.Email, accountID)
	case "notfound":
		return nil, fmt.Errorf("invitation: the token matches no invitation: %w", accounts.ErrNotFound)
	case "used":
		return nil, fmt.Errorf("%w: invitation %s was already accepted", accounts.ErrInvitationGone, invID)
	case "revoked":
		return nil, fmt.Errorf("%w: invitation %s was revoked", accounts.ErrInvitationGone, invID)
	default: // expired
		return nil, fmt.Errorf("%w: invitation %s has expired", accounts.ErrInvitationGone, invID)
	}
}

// invByToken finds the invitation of a token, comparing hashes in constant
// time. ErrNotFound for anything that is not a live invitation's token.
func (s *Store) invByToken(ctx context.Context, token string) (*accounts.Invitation, error) {
	notFound := fmt.Errorf("invitation: the token matches no invitation: %w", accounts.ErrNotFound)
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), invTokenPrefix)
	if !ok {
		return nil, notFound
	}
	id, random, ok := strings.Cut(rest, "_")
	if !ok || !strings.HasPrefix(id, "i") || len(random) != 52 {
		return nil, notFound
	}
	shard, err := s.ShardFromID(id)
	if err != nil {
		return nil, notFound
	}
	h, err := s.RDB.HGetAll(ctx, s.Keys.Invitation(shard, id)).Result()
	if err != nil {
		return nil, fmt.Errorf("invitation %s: %w", id, err)
	}
	if len(h) == 0 || subtle.ConstantTimeCompare([]byte(h["token_hash"]), []byte(KeyHash(strings.TrimSpace(token)))) != 1 {
		return nil, notFound
	}
	return invFromHash(id, h)
}

// invUsable says why an invitation cannot be accepted now, if it cannot.
func invUsable(inv *accounts.Invitation, now time.Time) error {
	switch {
	case inv.Status == accounts.InviteAccepted:
		return fmt.Errorf("%w: invitation %s was already accepted", accounts.ErrInvitationGone, inv.ID)
	case inv.Status == accounts.InviteRevoked:
		return fmt.Errorf("%w: invitation %s was revoked", accounts.ErrInvitationGone, inv.ID)
	case !now.Before(inv.ExpiresAt):
		return fmt.Errorf("%w: invitation %s expired at %s", accounts.ErrInvitationGone, inv.ID, inv.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func invFromHash(id string, h map[string]string) (*accounts.Invitation, error) {
	if len(h) == 0 {
		return nil, fmt.Errorf("invitation %q: %w", id, accounts.ErrNotFound)
	}
	created, err1 := strconv.ParseInt(h["created_at"], 10, 64)
	expires, err2 := strconv.ParseInt(h["expires_at"], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("invitation %s: %w", id, err)
	}
	return &accounts.Invitation{
		ID: id, AccountID: h["account_id"], Email: h["email"], Role: accounts.Role(h["role"]), CreatedBy: h["created_by"],
		CreatedAt: time.UnixMilli(created), ExpiresAt: time.UnixMilli(expires), Status: h["status"],
	}, nil
}
