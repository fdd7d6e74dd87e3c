package accounts

// Invitations: an admin invites an email to an account with a role; whoever
// holds the token accepts it (creating the user if the email has none) and
// becomes a member.
//
// The token, "sgi_<invitation id>_<256 random bits>", is returned once, at
// creation; only its SHA-256 is stored. The invitation id inside it names
// the shard, so accepting needs no global index. Keyspace:
//
//	P:{sN}:inv:<id>            HASH  id, account_id, email, role, created_by, created_at,
//	                                 expires_at, token_hash, status (pending|accepted|revoked)
//	P:{sN}:invs:<acct>         ZSET  pending invitation ids -> expiry (unix ms)
//	P:{sN}:invemail:<acct>     HASH  email -> "<id> <expiry ms>" of its pending invitation
//
// An accepted, revoked or expired invitation is kept for invRetention so
// that its token answers "already accepted", "revoked" or "expired" (410)
// rather than "not found"; Redis drops it afterwards.

import (
	"context"
	"crypto/subtle"
	_ "embed" // Lua scripts
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/user_invite.lua
	userInviteLua    string
	userInviteScript = redis.NewScript(userInviteLua)

	//go:embed lua/user_revoke.lua
	userRevokeLua    string
	userRevokeScript = redis.NewScript(userRevokeLua)
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

// Invitation states.
const (
	InvitePending  = "pending"
	InviteAccepted = "accepted"
	InviteRevoked  = "revoked"
)

// Invitation invites an email to become a member of an account with a role.
// Its token is never stored, only its hash.
type Invitation struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	CreatedBy string    `json:"created_by,omitempty"` // the inviting user id, or key id
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Status    string    `json:"status"`
}

// InvitationRequest is what CreateInvitation needs.
type InvitationRequest struct {
	AccountID string
	Email     string
	Role      Role
	CreatedBy string
	TTL       time.Duration // zero: InvitationTTL; at most 30 days
}

// Acceptance is the result of accepting an invitation.
type Acceptance struct {
	User    *User   `json:"user"`
	Member  *Member `json:"member"`
	NewUser bool    `json:"new_user"`
}

// CreateInvitation stores an invitation and returns its token, which is
// shown once. ErrAlreadyMember if the email's user is a member already;
// ErrInvitePending if the email has a pending invitation to the account.
func (s *Store) CreateInvitation(ctx context.Context, req InvitationRequest) (string, *Invitation, error) {
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
		return "", nil, acctInvalid("expires_in: %s is not between 1 minute and %s", ttl, invMaxTTL)
	}
	uid := ""
	switch u, err := s.UserByEmail(ctx, email); {
	case err == nil:
		uid = u.ID
	case !errors.Is(err, ErrNotFound):
		return "", nil, fmt.Errorf("create invitation: %w", err)
	}
	shard, _ := s.shardFromID(a.ID)
	now := time.UnixMilli(s.now().UnixMilli())
	inv := &Invitation{
		ID: newShardedID("i", shard), AccountID: a.ID, Email: email, Role: req.Role,
		CreatedBy: req.CreatedBy, CreatedAt: now, ExpiresAt: now.Add(ttl), Status: InvitePending,
	}
	token := invTokenPrefix + inv.ID + "_" + randomSecret(32)
	keys := []string{s.skey(shard, "inv", inv.ID), s.skey(shard, "invs", a.ID), s.skey(shard, "invemail", a.ID),
		s.skey(shard, "members", a.ID)}
	exp := inv.ExpiresAt.UnixMilli()
	args := []any{inv.ID, email, uid, now.UnixMilli(), exp, (ttl + invRetention).Milliseconds(),
		"id", inv.ID, "account_id", a.ID, "email", email, "role", string(inv.Role), "created_by", inv.CreatedBy,
		"created_at", now.UnixMilli(), "expires_at", exp, "token_hash", keyHash(token), "status", InvitePending}
	res, err := userInviteScript.Run(ctx, s.rdb, keys, args...).StringSlice()
	if err != nil {
		return "", nil, fmt.Errorf("create invitation to %s: %w", a.ID, err)
	}
	switch res[0] {
	case "ok":
		return token, inv, nil
	case "member":
		return "", nil, fmt.Errorf("%w: email: %s is already a member of account %s", ErrAlreadyMember, email, a.ID)
	default: // pending
		return "", nil, fmt.Errorf("%w: email: %s already has pending invitation %s to account %s; revoke it first",
			ErrInvitePending, email, res[1], a.ID)
	}
}

// ListInvitations returns an account's pending (unexpired, unaccepted,
// unrevoked) invitations, oldest first.
func (s *Store) ListInvitations(ctx context.Context, accountID string) ([]Invitation, error) {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	shard, _ := s.shardFromID(accountID)
	now := s.now().UnixMilli()
	ids, err := s.rdb.ZRangeByScore(ctx, s.skey(shard, "invs", accountID), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now, 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("list invitations of %s: %w", accountID, err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.skey(shard, "inv", id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("list invitations of %s: %w", accountID, err)
		}
	}
	out := []Invitation{}
	for i, c := range cmds {
		inv, err := invFromHash(ids[i], c.Val())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if inv.Status == InvitePending && inv.AccountID == accountID {
			out = append(out, *inv)
		}
	}
	slices.SortFunc(out, func(x, y Invitation) int {
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
	if _, err := s.acctKey(accountID); err != nil {
		return err
	}
	shard, err := s.shardFromID(invID)
	if err != nil || !strings.HasPrefix(invID, "i") {
		return fmt.Errorf("invitation %q: %w", invID, ErrNotFound)
	}
	keys := []string{s.skey(shard, "inv", invID), s.skey(shard, "invs", accountID), s.skey(shard, "invemail", accountID)}
	res, err := userRevokeScript.Run(ctx, s.rdb, keys, invID, accountID, s.now().UnixMilli(), invRetention.Milliseconds()).Text()
	if err != nil {
		return fmt.Errorf("revoke invitation %s: %w", invID, err)
	}
	switch res {
	case "ok":
		return nil
	case "used":
		return fmt.Errorf("%w: invitation %s was accepted; remove the member instead", ErrInvitationTaken, invID)
	default: // notfound, revoked
		return fmt.Errorf("invitation %q: %w", invID, ErrNotFound)
	}
}

// AcceptInvitation accepts an invitation by its token. If the invited email
// has no user yet, one is created with name and password (at least 10
// characters); an existing user joins as they are (name and password are
// ignored: holding the token mailed to the address is the proof). Of
// concurrent accepts of one token exactly one succeeds. ErrNotFound for a
// token that matches no invitation; ErrInvitationGone for an expired,
// revoked or used one; ErrAlreadyMember if the user is a member already.
func (s *Store) AcceptInvitation(ctx context.Context, token, name, password string) (*Acceptance, error) {
	inv, err := s.invByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := invUsable(inv, s.now()); err != nil {
		return nil, err
	}
	res := &Acceptance{}
	u, err := s.UserByEmail(ctx, inv.Email)
	if errors.Is(err, ErrNotFound) {
		u, err = s.CreateUser(ctx, inv.Email, name, password)
		res.NewUser = err == nil
		if errors.Is(err, ErrEmailTaken) { // created meanwhile: join as that user
			u, err = s.UserByEmail(ctx, inv.Email)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("accept invitation %s: %w", inv.ID, err)
	}
	res.User = u
	res.Member, err = s.userJoin(ctx, inv.AccountID, u, inv.Role, inv.ID, keyHash(token))
	if err != nil {
		return nil, err
	}
	return res, nil
}

// AddMember makes a user a member of an account with role, without an
// invitation (operator tools, tests). ErrAlreadyMember if they are one.
func (s *Store) AddMember(ctx context.Context, accountID, userID string, role Role) (*Member, error) {
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
func (s *Store) userJoin(ctx context.Context, accountID string, u *User, role Role, invID, tokenHash string) (*Member, error) {
	shard, err := s.shardFromID(accountID)
	if err != nil {
		return nil, err
	}
	if err := s.rdb.SAdd(ctx, s.gkey("user", "accts", u.ID), accountID).Err(); err != nil {
		return nil, fmt.Errorf("join %s to %s: %w", u.ID, accountID, err)
	}
	now := time.UnixMilli(s.now().UnixMilli())
	tag := randomSecret(8) + "." + strconv.FormatInt(now.UnixMilli(), 10)
	invKey := s.skey(shard, "inv", "-")
	if invID != "" {
		invKey = s.skey(shard, "inv", invID)
	}
	keys := []string{
		s.skey(shard, "members", accountID), s.skey(shard, "owner", accountID), s.skey(shard, "memberships", accountID),
		invKey, s.skey(shard, "invs", accountID), s.skey(shard, "invemail", accountID),
	}
	res, err := userJoinScript.Run(ctx, s.rdb, keys, u.ID, string(role), tag, now.UnixMilli(), tokenHash,
		invRetention.Milliseconds(), accountID).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("join %s to %s: %w", u.ID, accountID, err)
	}
	switch res[0] {
	case "ok":
		return &Member{AccountID: accountID, UserID: u.ID, Email: u.Email, Name: u.Name, Role: Role(res[1]),
			Owner: res[2] == "1", JoinedAt: now}, nil
	case "member":
		return nil, fmt.Errorf("%w: email: %s is already a member of account %s", ErrAlreadyMember, u.Email, accountID)
	case "notfound":
		return nil, fmt.Errorf("invitation: the token matches no invitation: %w", ErrNotFound)
	case "used":
		return nil, fmt.Errorf("%w: invitation %s was already accepted", ErrInvitationGone, invID)
	case "revoked":
		return nil, fmt.Errorf("%w: invitation %s was revoked", ErrInvitationGone, invID)
	default: // expired
		return nil, fmt.Errorf("%w: invitation %s has expired", ErrInvitationGone, invID)
	}
}

// invByToken finds the invitation of a token, comparing hashes in constant
// time. ErrNotFound for anything that is not a live invitation's token.
func (s *Store) invByToken(ctx context.Context, token string) (*Invitation, error) {
	notFound := fmt.Errorf("invitation: the token matches no invitation: %w", ErrNotFound)
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), invTokenPrefix)
	if !ok {
		return nil, notFound
	}
	id, random, ok := strings.Cut(rest, "_")
	if !ok || !strings.HasPrefix(id, "i") || len(random) != 52 {
		return nil, notFound
	}
	shard, err := s.shardFromID(id)
	if err != nil {
		return nil, notFound
	}
	h, err := s.rdb.HGetAll(ctx, s.skey(shard, "inv", id)).Result()
	if err != nil {
		return nil, fmt.Errorf("invitation %s: %w", id, err)
	}
	if len(h) == 0 || subtle.ConstantTimeCompare([]byte(h["token_hash"]), []byte(keyHash(strings.TrimSpace(token)))) != 1 {
		return nil, notFound
	}
	return invFromHash(id, h)
}

// invUsable says why an invitation cannot be accepted now, if it cannot.
func invUsable(inv *Invitation, now time.Time) error {
	switch {
	case inv.Status == InviteAccepted:
		return fmt.Errorf("%w: invitation %s was already accepted", ErrInvitationGone, inv.ID)
	case inv.Status == InviteRevoked:
		return fmt.Errorf("%w: invitation %s was revoked", ErrInvitationGone, inv.ID)
	case !now.Before(inv.ExpiresAt):
		return fmt.Errorf("%w: invitation %s expired at %s", ErrInvitationGone, inv.ID, inv.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func invFromHash(id string, h map[string]string) (*Invitation, error) {
	if len(h) == 0 {
		return nil, fmt.Errorf("invitation %q: %w", id, ErrNotFound)
	}
	created, err1 := strconv.ParseInt(h["created_at"], 10, 64)
	expires, err2 := strconv.ParseInt(h["expires_at"], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("invitation %s: %w", id, err)
	}
	return &Invitation{
		ID: id, AccountID: h["account_id"], Email: h["email"], Role: Role(h["role"]), CreatedBy: h["created_by"],
		CreatedAt: time.UnixMilli(created), ExpiresAt: time.UnixMilli(expires), Status: h["status"],
	}, nil
}
