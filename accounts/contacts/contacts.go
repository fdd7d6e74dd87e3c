package contacts

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/keyspace"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/phone"
)

var (
	//go:embed lua/contact_upsert.lua
	contactUpsertLua    string
	contactUpsertScript = store.NewScript("contacts/contact_upsert.lua", contactUpsertLua)
	//go:embed lua/contact_update.lua
	contactUpdateLua    string
	contactUpdateScript = store.NewScript("contacts/contact_update.lua", contactUpdateLua)
	//go:embed lua/contact_delete.lua
	contactDeleteLua    string
	contactDeleteScript = store.NewScript("contacts/contact_delete.lua", contactDeleteLua)
)

// contactKeys are the account-level keys of an account's contacts.
func (s *Store) contactKeys(accountID string) (shard int, zset, index string, err error) {
	shard, err = s.ShardFromID(accountID)
	if err != nil {
		return 0, "", "", err
	}
	return shard, s.Keys.ContactNumbers(shard, accountID), s.Keys.ContactByNumber(shard, accountID), nil
}

// UpsertContact creates a contact of accountID, or merges in into the one
// with the same number. created says which.
func (s *Store) UpsertContact(ctx context.Context, accountID string, in accounts.ContactInput) (c *accounts.Contact, created bool, err error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, false, err
	}
	if in, err = accounts.NormContact(acct, in); err != nil {
		return nil, false, err
	}
	res, err := s.upsertContacts(ctx, accountID, []accounts.ContactInput{in})
	if err != nil {
		return nil, false, err
	}
	c, err = s.GetContact(ctx, accountID, res[0].ID)
	return c, err == nil && res[0].Created, err
}

// upserted is the outcome of one contact of upsertContacts.
type upserted struct {
	ID      string
	Created bool
}

// upsertContacts stores contacts already normalised (NormContact), in
// batches of contactBatch, each batch one script call.
func (s *Store) upsertContacts(ctx context.Context, accountID string, ins []accounts.ContactInput) ([]upserted, error) {
	shard, zset, index, err := s.contactKeys(accountID)
	if err != nil {
		return nil, err
	}
	q, err := s.QuotasOf(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]upserted, 0, len(ins))
	for chunk := range slices.Chunk(ins, accounts.ContactBatch) {
		fields := make([]string, len(chunk))
		for i, in := range chunk {
			b, err := json.Marshal(in.Fields)
			if err != nil {
				return nil, fmt.Errorf("upsert contacts of %s: %w", accountID, err)
			}
			if in.Fields == nil {
				b = []byte("{}")
			}
			fields[i] = string(b)
		}
		newIDs := make([]string, len(chunk))
		for i := range chunk {
			newIDs[i] = store.NewShardedID("c", shard)
		}
		var res []string
		err := store.Optimistic(ctx, "upsert contacts of "+accountID, func(ctx context.Context) error {
			// The contact each number has now names its key; the script
			// answers "retry" if the index changed in between.
			numbers := make([]string, len(chunk))
			for i, in := range chunk {
				numbers[i] = in.Number
			}
			have, err := s.RDB.HMGet(ctx, index, numbers...).Result()
			if err != nil {
				return fmt.Errorf("upsert contacts of %s: %w", accountID, err)
			}
			keys := []string{zset, index}
			args := []any{s.Now().UnixMilli(), accountID, len(chunk), q.Contacts}
			seen := make(map[string]string, len(chunk))
			for i, in := range chunk {
				found, ok := seen[in.Number]
				if !ok {
					found, _ = have[i].(string)
				}
				id := found
				if id == "" {
					id = newIDs[i]
				}
				seen[in.Number] = id
				keys = append(keys, s.Keys.Contact(shard, id))
				args = append(args, newIDs[i], found, in.Number, in.FirstName, in.LastName, in.Email, fields[i])
			}
			res, err = s.RunChecked(ctx, contactUpsertScript, keys, args...)
			if err != nil {
				return fmt.Errorf("upsert contacts of %s: %w", accountID, err)
			}
			if len(res) == 3 && res[0] == "quota" {
				used, _ := strconv.ParseInt(res[1], 10, 64)
				want, _ := strconv.ParseInt(res[2], 10, 64)
				return &accounts.QuotaError{Account: accountID, Quota: accounts.QuotaContacts, Limit: q.Contacts, Used: used, Want: want}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(res); i += 2 {
			out = append(out, upserted{ID: res[i+1], Created: res[i] == "c"})
		}
	}
	return out, nil
}

// GetContact returns contact id of accountID; another account's contact is
// ErrNotFound.
func (s *Store) GetContact(ctx context.Context, accountID, id string) (*accounts.Contact, error) {
	cs, err := s.loadContacts(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 || cs[0].AccountID != accountID {
		return nil, fmt.Errorf("contact %q: %w", id, accounts.ErrNotFound)
	}
	return cs[0], nil
}

// UpdateContact applies p to contact id of accountID. A number another
// contact of the account has is ErrContactExists.
func (s *Store) UpdateContact(ctx context.Context, accountID, id string, p accounts.ContactPatch) (*accounts.Contact, error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	ckey, err := s.contactKeyOf(accountID, id)
	if err != nil {
		return nil, err
	}
	_, zset, index, err := s.contactKeys(accountID)
	if err != nil {
		return nil, err
	}
	number := ""
	if p.Number != nil {
		if number, err = phone.Normalize(*p.Number, acct.DefaultCountry); err != nil {
			return nil, accounts.Invalidf("number: %q: %s", *p.Number, accounts.PhoneReason(err))
		}
	}
	args := []any{s.Now().UnixMilli(), accountID, number}
	for _, f := range []struct {
		name string
		v    *string
	}{{"first_name", p.FirstName}, {"last_name", p.LastName}} {
		if f.v == nil {
			continue
		}
		v, err := accounts.ContactText(f.name, *f.v, accounts.ContactMaxName)
		if err != nil {
			return nil, err
		}
		args = append(args, f.name, v)
	}
	if p.Email != nil {
		v, err := accounts.ContactEmail(*p.Email)
		if err != nil {
			return nil, err
		}
		args = append(args, "email", v)
	}
	fields, err := accounts.ContactFields(p.Fields)
	if err != nil {
		return nil, err
	}
	if len(fields) > 0 {
		cur, err := s.GetContact(ctx, accountID, id)
		if err != nil {
			return nil, err
		}
		after := maps.Clone(cur.Fields)
		if after == nil {
			after = map[string]string{}
		}
		for k, v := range fields {
			after[k] = v
			if v == "" {
				delete(after, k)
			}
		}
		if len(after) > accounts.ContactMaxFields {
			return nil, accounts.Invalidf("fields: the contact would have %d custom fields, at most %d are allowed", len(after), accounts.ContactMaxFields)
		}
	}
	for k, v := range fields {
		args = append(args, "f:"+k, v)
	}
	res, err := s.Run(ctx, contactUpdateScript, []string{ckey, zset, index}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("update contact %s: %w", id, err)
	}
	switch res[0] {
	case "nf":
		return nil, fmt.Errorf("contact %q: %w", id, accounts.ErrNotFound)
	case "taken":
		return nil, fmt.Errorf("%w: number: %s is already contact %s of account %s", accounts.ErrContactExists, number, res[1], accountID)
	}
	return s.GetContact(ctx, accountID, id)
}

// DeleteContact deletes contact id of accountID and removes it from every
// group.
func (s *Store) DeleteContact(ctx context.Context, accountID, id string) error {
	ckey, err := s.contactKeyOf(accountID, id)
	if err != nil {
		return err
	}
	shard, zset, index, err := s.contactKeys(accountID)
	if err != nil {
		return err
	}
	groupsKey := s.Keys.ContactGroups(shard, id)
	var res []string
	err = store.Optimistic(ctx, "delete contact "+id, func(ctx context.Context) error {
		// The contact's groups name the members sets to leave; the script
		// answers "retry" if they changed in between.
		groups, err := s.RDB.SMembers(ctx, groupsKey).Result()
		if err != nil {
			return fmt.Errorf("delete contact %s: %w", id, err)
		}
		keys := []string{ckey, zset, index, groupsKey}
		args := []any{accountID, id}
		for _, g := range groups {
			keys = append(keys, s.Keys.GroupMembers(shard, g))
			args = append(args, g)
		}
		res, err = s.RunChecked(ctx, contactDeleteScript, keys, args...)
		if err != nil {
			return fmt.Errorf("delete contact %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if res[0] != "ok" {
		return fmt.Errorf("contact %q: %w", id, accounts.ErrNotFound)
	}
	return nil
}

// ListContacts returns a page of accountID's contacts ordered by number,
// and the cursor of the next page ("" when this is the last).
func (s *Store) ListContacts(ctx context.Context, accountID string, q accounts.ContactQuery) ([]*accounts.Contact, string, error) {
	_, zset, index, err := s.contactKeys(accountID)
	if err != nil {
		return nil, "", err
	}
	if q.Limit <= 0 {
		q.Limit = accounts.ContactDefaultLimit
	}
	q.Limit = min(q.Limit, accounts.ContactMaxLimit)
	start, stop := "-", "+"
	if q.Prefix != "" {
		start, stop = "["+q.Prefix, "["+q.Prefix+"\xff"
	}
	if q.After != "" && (q.Prefix == "" || q.After >= q.Prefix) {
		start = "(" + q.After
	}
	numbers, err := s.RDB.ZRangeArgs(ctx, redis.ZRangeArgs{Key: zset, Start: start, Stop: stop, ByLex: true,
		Count: int64(q.Limit + 1)}).Result()
	if err != nil {
		return nil, "", fmt.Errorf("list contacts of %s: %w", accountID, err)
	}
	next := ""
	if len(numbers) > q.Limit {
		numbers = numbers[:q.Limit]
		next = numbers[q.Limit-1]
	}
	if len(numbers) == 0 {
		return []*accounts.Contact{}, "", nil
	}
	ids, err := s.RDB.HMGet(ctx, index, numbers...).Result()
	if err != nil {
		return nil, "", fmt.Errorf("list contacts of %s: %w", accountID, err)
	}
	cs, err := s.loadContacts(ctx, stringsOf(ids))
	if err != nil {
		return nil, "", err
	}
	return cs, next, nil
}

// ContactByNumber returns accountID's contact with number (normalised with
// the account's default country); if it has none and the account uses
// shared contacts (flag share_contacts), its parent's. ErrNotFound if none.
func (s *Store) ContactByNumber(ctx context.Context, accountID, number string) (*accounts.Contact, error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	n, err := phone.Normalize(number, acct.DefaultCountry)
	if err != nil {
		return nil, fmt.Errorf("contact with number %q: %w", number, accounts.ErrNotFound)
	}
	owners := []string{acct.ID}
	if acct.ParentID != "" && acct.Can(accounts.FlagShareContacts) {
		owners = append(owners, acct.ParentID)
	}
	for _, owner := range owners {
		c, err := s.contactOfNumber(ctx, owner, n)
		if errors.Is(err, accounts.ErrNotFound) {
			continue
		}
		return c, err
	}
	return nil, fmt.Errorf("contact with number %s: %w", n, accounts.ErrNotFound)
}

// contactOfNumber is the contact of accountID with E.164 number n.
func (s *Store) contactOfNumber(ctx context.Context, accountID, n string) (*accounts.Contact, error) {
	_, _, index, err := s.contactKeys(accountID)
	if err != nil {
		return nil, err
	}
	id, err := s.RDB.HGet(ctx, index, n).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("contact with number %s: %w", n, accounts.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("contact with number %s: %w", n, err)
	}
	return s.GetContact(ctx, accountID, id)
}

// contactKey is the hash key of contact id.
func (s *Store) contactKey(id string) (string, error) {
	if !strings.HasPrefix(id, "c") {
		return "", fmt.Errorf("contact %q: %w", id, accounts.ErrNotFound)
	}
	shard, err := s.ShardFromID(id)
	if err != nil {
		return "", fmt.Errorf("contact %q: %w", id, accounts.ErrNotFound)
	}
	return s.Keys.Contact(shard, id), nil
}

// contactKeyOf is the hash key of contact id of accountID: a contact of
// another shard cannot be the account's (and would be another Redis
// Cluster slot in its scripts), so it is ErrNotFound.
func (s *Store) contactKeyOf(accountID, id string) (string, error) {
	key, err := s.contactKey(id)
	if err != nil {
		return "", err
	}
	if sameShard(id, accountID) {
		return key, nil
	}
	return "", fmt.Errorf("contact %q: %w", id, accounts.ErrNotFound)
}

// sameShard reports whether two sharded ids name the same shard.
func sameShard(a, b string) bool {
	x, ok1 := keyspace.ShardOf(a)
	y, ok2 := keyspace.ShardOf(b)
	return ok1 && ok2 && x == y
}

// loadContacts loads contacts by id in one pipeline, in the order given,
// skipping ids without a record.
func (s *Store) loadContacts(ctx context.Context, ids []string) ([]*accounts.Contact, error) {
	pipe := s.RDB.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, 0, len(ids))
	for _, id := range ids {
		key, err := s.contactKey(id)
		if err != nil {
			continue
		}
		cmds = append(cmds, pipe.HGetAll(ctx, key))
	}
	if len(cmds) == 0 {
		return []*accounts.Contact{}, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	out := make([]*accounts.Contact, 0, len(cmds))
	for _, c := range cmds {
		if h := c.Val(); len(h) > 0 && h["id"] != "" {
			out = append(out, contactFromHash(h))
		}
	}
	return out, nil
}

// contactFromHash decodes a contact hash.
func contactFromHash(h map[string]string) *accounts.Contact {
	c := &accounts.Contact{ID: h["id"], AccountID: h["account_id"], Number: h["number"], FirstName: h["first_name"],
		LastName: h["last_name"], Email: h["email"]}
	for k, v := range h {
		if f, ok := strings.CutPrefix(k, "f:"); ok {
			if c.Fields == nil {
				c.Fields = map[string]string{}
			}
			c.Fields[f] = v
		}
	}
	ms := func(f string) time.Time {
		n, _ := strconv.ParseInt(h[f], 10, 64)
		return time.UnixMilli(n)
	}
	c.CreatedAt, c.UpdatedAt = ms("created_at"), ms("updated_at")
	return c
}

// stringsOf turns an HMGET answer into strings, dropping nils.
func stringsOf(vs []any) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
