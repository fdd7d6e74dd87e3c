package contacts

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/phone"
)

// Limits of groups.
const (
	// GroupMaxMembers bounds a group's size.
	GroupMaxMembers = 50000
	groupMaxName    = 64
	groupBatch      = 1000 // member ids per script call
)

var (
	//go:embed lua/group_create.lua
	groupCreateLua    string
	groupCreateScript = store.NewScript("contacts/group_create.lua", groupCreateLua)
	//go:embed lua/group_rename.lua
	groupRenameLua    string
	groupRenameScript = store.NewScript("contacts/group_rename.lua", groupRenameLua)
	//go:embed lua/group_delete.lua
	groupDeleteLua    string
	groupDeleteScript = store.NewScript("contacts/group_delete.lua", groupDeleteLua)
	//go:embed lua/group_members.lua
	groupMembersLua    string
	groupMembersScript = store.NewScript("contacts/group_members.lua", groupMembersLua)
	//go:embed lua/group_share.lua
	groupShareLua    string
	groupShareScript = store.NewScript("contacts/group_share.lua", groupShareLua)
)

// groupCheckName validates a group name and returns it trimmed.
func groupCheckName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", accounts.Invalidf("name: required")
	case len([]rune(name)) > groupMaxName:
		return "", accounts.Invalidf("name: %q is longer than %d characters", name, groupMaxName)
	case strings.ContainsFunc(name, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" .-_", r)
	}):
		return "", accounts.Invalidf("name: %q may hold only letters, digits, spaces, '.', '-' and '_' (it is mailed as <name>@<sms-domain>)", name)
	case !strings.ContainsFunc(name, unicode.IsLetter):
		return "", accounts.Invalidf("name: %q needs a letter (an all-digit address is a phone number)", name)
	}
	return name, nil
}

// groupKey is the hash key of group id.
func (s *Store) groupKey(id string) (int, string, error) {
	if !strings.HasPrefix(id, "g") {
		return 0, "", fmt.Errorf("group %q: %w", id, accounts.ErrNotFound)
	}
	shard, err := s.ShardFromID(id)
	if err != nil {
		return 0, "", fmt.Errorf("group %q: %w", id, accounts.ErrNotFound)
	}
	return shard, s.Keys.Group(shard, id), nil
}

// CreateGroup creates an empty group of accountID. A name the account
// already has (in normal form) is ErrGroupExists.
func (s *Store) CreateGroup(ctx context.Context, accountID, name string) (*accounts.Group, error) {
	name, err := groupCheckName(name)
	if err != nil {
		return nil, err
	}
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, err
	}
	q, err := s.QuotasOf(ctx, accountID)
	if err != nil {
		return nil, err
	}
	shard, _ := s.ShardFromID(accountID) // valid: GetAccount succeeded
	g := &accounts.Group{ID: store.NewShardedID("g", shard), AccountID: accountID, Name: name, SharedWith: []string{},
		CreatedAt: time.UnixMilli(s.Now().UnixMilli())}
	norm := accounts.NormGroupName(name)
	keys := []string{s.Keys.Groups(shard, accountID), s.Keys.Group(shard, g.ID)}
	res, err := s.Run(ctx, groupCreateScript, keys, norm, g.ID, name, accountID, g.CreatedAt.UnixMilli(), q.Groups).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("create group %q: %w", name, err)
	}
	if res[0] == "quota" {
		used, _ := strconv.ParseInt(res[1], 10, 64)
		return nil, &accounts.QuotaError{Account: accountID, Quota: accounts.QuotaGroups, Limit: q.Groups, Used: used, Want: 1}
	}
	if res[0] == "taken" {
		return nil, fmt.Errorf("%w: name: account %s already has a group named %q (%s)", accounts.ErrGroupExists, accountID, name, res[1])
	}
	return g, nil
}

// GetGroup returns group id, whoever owns it.
func (s *Store) GetGroup(ctx context.Context, id string) (*accounts.Group, error) {
	gs, err := s.loadGroups(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("group %q: %w", id, accounts.ErrNotFound)
	}
	return gs[0], nil
}

// GroupFor returns group id as accountID sees it: its own group, or its
// parent's group shared with it (readOnly). Anything else is ErrNotFound.
func (s *Store) GroupFor(ctx context.Context, accountID, id string) (g *accounts.Group, readOnly bool, err error) {
	g, err = s.GetGroup(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if g.AccountID == accountID {
		return g, false, nil
	}
	if slices.Contains(g.SharedWith, accountID) {
		return g, true, nil
	}
	return nil, false, fmt.Errorf("group %q: %w", id, accounts.ErrNotFound)
}

// ownGroup returns group id if accountID owns it: ErrReadOnly if it is
// shared with accountID, else ErrNotFound.
func (s *Store) ownGroup(ctx context.Context, accountID, id string) (*accounts.Group, error) {
	g, ro, err := s.GroupFor(ctx, accountID, id)
	switch {
	case err != nil:
		return nil, err
	case ro:
		return nil, fmt.Errorf("%w: group %s belongs to parent account %s, which shares it read-only", accounts.ErrReadOnly, id, g.AccountID)
	}
	return g, nil
}

// ListGroups returns accountID's groups and, for a sub-account, the
// parent's groups shared with it, sorted by name.
func (s *Store) ListGroups(ctx context.Context, accountID string) ([]*accounts.Group, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return nil, err
	}
	pipe := s.RDB.Pipeline()
	own := pipe.HVals(ctx, s.Keys.Groups(shard, accountID))
	shared := pipe.SMembers(ctx, s.Keys.SharedGroups(shard, accountID))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("list groups of %s: %w", accountID, err)
	}
	gs, err := s.loadGroups(ctx, append(own.Val(), shared.Val()...))
	if err != nil {
		return nil, err
	}
	gs = slices.DeleteFunc(gs, func(g *accounts.Group) bool {
		return g.AccountID != accountID && !slices.Contains(g.SharedWith, accountID)
	})
	slices.SortFunc(gs, func(a, b *accounts.Group) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return gs, nil
}

// GroupByName returns the group accountID would mean by name: its own
// group of that name (compared in normal form, NormGroupName), else its
// parent's group of that name shared with it. ErrNotFound if neither.
func (s *Store) GroupByName(ctx context.Context, accountID, name string) (*accounts.Group, error) {
	norm := accounts.NormGroupName(name)
	if norm == "" {
		return nil, fmt.Errorf("group %q: %w", name, accounts.ErrNotFound)
	}
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	shard, _ := s.ShardFromID(accountID)
	owners := []string{accountID}
	if acct.ParentID != "" {
		owners = append(owners, acct.ParentID)
	}
	for _, owner := range owners {
		id, err := s.RDB.HGet(ctx, s.Keys.Groups(shard, owner), norm).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("group %q of %s: %w", name, owner, err)
		}
		g, _, err := s.GroupFor(ctx, accountID, id)
		if errors.Is(err, accounts.ErrNotFound) {
			continue // the parent's group is not shared with accountID
		}
		return g, err
	}
	return nil, fmt.Errorf("group %q: %w", name, accounts.ErrNotFound)
}

// RenameGroup renames accountID's group id.
func (s *Store) RenameGroup(ctx context.Context, accountID, id, name string) (*accounts.Group, error) {
	name, err := groupCheckName(name)
	if err != nil {
		return nil, err
	}
	if _, err := s.ownGroup(ctx, accountID, id); err != nil {
		return nil, err
	}
	shard, gkey, _ := s.groupKey(id)
	keys := []string{s.Keys.Groups(shard, accountID), gkey}
	res, err := s.Run(ctx, groupRenameScript, keys, accountID, accounts.NormGroupName(name), name).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("rename group %s: %w", id, err)
	}
	switch res[0] {
	case "nf":
		return nil, fmt.Errorf("group %q: %w", id, accounts.ErrNotFound)
	case "taken":
		return nil, fmt.Errorf("%w: name: account %s already has a group named %q (%s)", accounts.ErrGroupExists, accountID, name, res[1])
	}
	return s.GetGroup(ctx, id)
}

// DeleteGroup deletes accountID's group id (its contacts stay) and ends
// its sharing.
func (s *Store) DeleteGroup(ctx context.Context, accountID, id string) error {
	if _, err := s.ownGroup(ctx, accountID, id); err != nil {
		return err
	}
	shard, gkey, _ := s.groupKey(id)
	membersKey := s.Keys.GroupMembers(shard, id)
	var res []string
	err := store.Optimistic(ctx, "delete group "+id, func(ctx context.Context) error {
		// The members and the sharing name the sets to leave; the script
		// answers "retry" if they changed in between.
		var members *redis.StringSliceCmd
		var shared *redis.StringCmd
		_, err := s.RDB.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			members = pipe.SMembers(ctx, membersKey)
			shared = pipe.HGet(ctx, gkey, "shared")
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("delete group %s: %w", id, err)
		}
		keys := []string{s.Keys.Groups(shard, accountID), gkey, membersKey}
		args := []any{accountID, id, shared.Val()}
		for _, c := range members.Val() {
			keys = append(keys, s.Keys.ContactGroups(shard, c))
			args = append(args, c)
		}
		for _, sub := range strings.Split(shared.Val(), ",") {
			if sub != "" {
				keys = append(keys, s.Keys.SharedGroups(shard, sub))
			}
		}
		res, err = s.RunChecked(ctx, groupDeleteScript, keys, args...)
		if err != nil {
			return fmt.Errorf("delete group %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if res[0] != "ok" {
		return fmt.Errorf("group %q: %w", id, accounts.ErrNotFound)
	}
	return nil
}

// AddGroupMembers adds contacts (by id) and numbers to accountID's group
// id. A number without a contact gets one; contact ids of other accounts
// are reported in Unknown. Past GroupMaxMembers nothing is added and the
// error wraps ErrInvalid.
func (s *Store) AddGroupMembers(ctx context.Context, accountID, id string, contactIDs, numbers []string) (*accounts.MembersChange, error) {
	return s.changeMembers(ctx, accountID, id, "add", contactIDs, numbers)
}

// RemoveGroupMembers removes contacts (by id) and numbers from accountID's
// group id; the contacts themselves stay.
func (s *Store) RemoveGroupMembers(ctx context.Context, accountID, id string, contactIDs, numbers []string) (*accounts.MembersChange, error) {
	return s.changeMembers(ctx, accountID, id, "rem", contactIDs, numbers)
}

func (s *Store) changeMembers(ctx context.Context, accountID, id, mode string, contactIDs, numbers []string) (*accounts.MembersChange, error) {
	g, err := s.ownGroup(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	out := &accounts.MembersChange{}
	ids := slices.Clone(contactIDs)
	if len(numbers) > 0 {
		acct, err := s.GetAccount(ctx, accountID)
		if err != nil {
			return nil, err
		}
		var ins []accounts.ContactInput
		for i, raw := range numbers {
			n, err := phone.Normalize(raw, acct.DefaultCountry)
			if err != nil {
				return nil, accounts.Invalidf("numbers[%d]: %q: %s", i, raw, accounts.PhoneReason(err))
			}
			if mode == "add" {
				ins = append(ins, accounts.ContactInput{Number: n})
				continue
			}
			c, err := s.contactOfNumber(ctx, accountID, n)
			if errors.Is(err, accounts.ErrNotFound) {
				continue // not a contact, so not a member
			}
			if err != nil {
				return nil, err
			}
			ids = append(ids, c.ID)
		}
		if len(ins) > 0 {
			if len(ins)+g.Members > GroupMaxMembers {
				return nil, accounts.Invalidf("numbers: group %s has %d members; %d more would pass the limit of %d", id, g.Members, len(ins), GroupMaxMembers)
			}
			res, err := s.upsertContacts(ctx, accountID, ins)
			if err != nil {
				return nil, err
			}
			for _, r := range res {
				ids = append(ids, r.ID)
				if r.Created {
					out.Created++
				}
			}
		}
	}
	shard, gkey, _ := s.groupKey(id)
	keys := []string{gkey, s.Keys.GroupMembers(shard, id)}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ids = slices.DeleteFunc(ids, func(c string) bool {
		if sameShard(c, id) {
			return false
		}
		out.Unknown = append(out.Unknown, c) // another tree's: never the account's
		return true
	})
	for chunk := range slices.Chunk(ids, groupBatch) {
		ckeys := make([]string, 2, 2+2*len(chunk))
		copy(ckeys, keys)
		args := []any{accountID, id, mode, GroupMaxMembers}
		for _, c := range chunk {
			ckeys = append(ckeys, s.Keys.Contact(shard, c), s.Keys.ContactGroups(shard, c))
			args = append(args, c)
		}
		res, err := s.Run(ctx, groupMembersScript, ckeys, args...).Slice()
		if err != nil {
			return nil, fmt.Errorf("change members of group %s: %w", id, err)
		}
		switch res[0] {
		case "nf":
			return nil, fmt.Errorf("group %q: %w", id, accounts.ErrNotFound)
		case "full":
			return nil, accounts.Invalidf("contacts: group %s has %d members; %d more would pass the limit of %d", id, res[1], res[2], GroupMaxMembers)
		}
		out.Changed += int(res[1].(int64))
		for _, u := range res[2:] {
			out.Unknown = append(out.Unknown, u.(string))
		}
	}
	n, err := s.RDB.SCard(ctx, keys[1]).Result()
	if err != nil {
		return nil, fmt.Errorf("count members of group %s: %w", id, err)
	}
	out.Members = int(n)
	return out, nil
}

// GroupMembers returns the contacts of group id, ordered by number. The
// caller has checked that the account may see the group (GroupFor).
func (s *Store) GroupMembers(ctx context.Context, id string) ([]*accounts.Contact, error) {
	shard, _, err := s.groupKey(id)
	if err != nil {
		return nil, err
	}
	ids, err := s.RDB.SMembers(ctx, s.Keys.GroupMembers(shard, id)).Result()
	if err != nil {
		return nil, fmt.Errorf("members of group %s: %w", id, err)
	}
	var cs []*accounts.Contact
	for chunk := range slices.Chunk(ids, groupBatch) {
		got, err := s.loadContacts(ctx, chunk)
		if err != nil {
			return nil, err
		}
		cs = append(cs, got...)
	}
	slices.SortFunc(cs, func(a, b *accounts.Contact) int { return strings.Compare(a.Number, b.Number) })
	return cs, nil
}

// GroupNumbers returns the numbers of group id's members, sorted.
func (s *Store) GroupNumbers(ctx context.Context, id string) ([]string, error) {
	cs, err := s.GroupMembers(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Number)
	}
	return slices.Compact(out), nil
}

// SetGroupSharing shares root account accountID's group id with exactly
// subs (sub-accounts of accountID); an empty list revokes all sharing.
func (s *Store) SetGroupSharing(ctx context.Context, accountID, id string, subs []string) (*accounts.Group, error) {
	return s.share(ctx, accountID, id, "set", subs)
}

// ShareGroup shares accountID's group id with subs as well.
func (s *Store) ShareGroup(ctx context.Context, accountID, id string, subs []string) (*accounts.Group, error) {
	return s.share(ctx, accountID, id, "add", subs)
}

// UnshareGroup revokes the sharing of accountID's group id with subs; the
// subs can no longer see it or send to it from that moment.
func (s *Store) UnshareGroup(ctx context.Context, accountID, id string, subs []string) (*accounts.Group, error) {
	return s.share(ctx, accountID, id, "rem", subs)
}

func (s *Store) share(ctx context.Context, accountID, id, mode string, subs []string) (*accounts.Group, error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if acct.ParentID != "" {
		return nil, accounts.Invalidf("group: %s is a sub-account's group; only a parent account's groups can be shared", id)
	}
	if _, err := s.ownGroup(ctx, accountID, id); err != nil {
		return nil, err
	}
	shard, gkey, _ := s.groupKey(id)
	var given []string
	for _, sub := range subs {
		sub = strings.TrimSpace(sub)
		if !sameShard(sub, id) || !strings.HasPrefix(sub, "a") {
			return nil, accounts.Invalidf("sub_accounts: %q is not a sub-account of %s", sub, accountID)
		}
		if !slices.Contains(given, sub) {
			given = append(given, sub)
		}
	}
	var res []string
	err = store.Optimistic(ctx, "share group "+id, func(ctx context.Context) error {
		// The subs the group is shared with now name the sets to leave; the
		// script answers "retry" if the sharing changed in between.
		shared, err := s.RDB.HGet(ctx, gkey, "shared").Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("share group %s: %w", id, err)
		}
		all := slices.Clone(given)
		for _, sub := range strings.Split(shared, ",") {
			if sub != "" && !slices.Contains(all, sub) {
				all = append(all, sub)
			}
		}
		keys := []string{gkey}
		args := []any{accountID, id, mode, shared, len(given)}
		for _, sub := range all {
			keys = append(keys, s.Keys.Account(shard, sub), s.Keys.SharedGroups(shard, sub))
			args = append(args, sub)
		}
		res, err = s.RunChecked(ctx, groupShareScript, keys, args...)
		if err != nil {
			return fmt.Errorf("share group %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch res[0] {
	case "nf":
		return nil, fmt.Errorf("group %q: %w", id, accounts.ErrNotFound)
	case "notsub":
		return nil, accounts.Invalidf("sub_accounts: %q is not a sub-account of %s", res[1], accountID)
	}
	return s.GetGroup(ctx, id)
}

// loadGroups loads groups by id (with their member counts) in one
// pipeline, in the order given, skipping ids without a record.
func (s *Store) loadGroups(ctx context.Context, ids []string) ([]*accounts.Group, error) {
	type cmd struct {
		h *redis.MapStringStringCmd
		n *redis.IntCmd
	}
	pipe := s.RDB.Pipeline()
	cmds := make([]cmd, 0, len(ids))
	for _, id := range ids {
		shard, key, err := s.groupKey(id)
		if err != nil {
			continue
		}
		cmds = append(cmds, cmd{pipe.HGetAll(ctx, key), pipe.SCard(ctx, s.Keys.GroupMembers(shard, id))})
	}
	if len(cmds) == 0 {
		return []*accounts.Group{}, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	out := make([]*accounts.Group, 0, len(cmds))
	for _, c := range cmds {
		h := c.h.Val()
		if len(h) == 0 || h["id"] == "" {
			continue
		}
		ms, _ := strconv.ParseInt(h["created_at"], 10, 64)
		g := &accounts.Group{ID: h["id"], AccountID: h["account_id"], Name: h["name"], Members: int(c.n.Val()),
			SharedWith: []string{}, CreatedAt: time.UnixMilli(ms)}
		if h["shared"] != "" {
			g.SharedWith = strings.Split(h["shared"], ",")
		}
		out = append(out, g)
	}
	return out, nil
}
