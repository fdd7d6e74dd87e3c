package accounts

// Contacts: each account's address book, de-duplicated by normalised number
// (phone.Normalize with the account's default country). Creating a contact
// whose number the account already has merges into it (non-empty values
// replace the stored ones) rather than failing: the same rule as a CSV
// import, so that importing a file twice changes nothing.
//
// Keys (all under the account tree's hash tag):
//
//	contact:<cid>          hash: id, account_id, number, first_name, last_name,
//	                       email, created_at, updated_at, f:<custom field>
//	contacts:<acct>        zset of numbers, score 0 (listing by number, lex)
//	contactnum:<acct>      hash number -> contact id
//	cgroups:<cid>          set of the group ids the contact is in

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

	"github.com/smsgate/smsgate/phone"
)

// Contact is one entry of an account's address book.
type Contact struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Number    string `json:"number"` // E.164 digits without '+'
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	// Fields are custom fields (template placeholders), lower-case keys.
	Fields    map[string]string `json:"fields,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// ContactInput is a contact to create or merge. Number is normalised with
// the account's default country; custom field keys are lower-cased.
type ContactInput struct {
	Number    string            `json:"number"`
	FirstName string            `json:"first_name"`
	LastName  string            `json:"last_name"`
	Email     string            `json:"email"`
	Fields    map[string]string `json:"fields"`
}

// ContactPatch changes a contact: nil leaves a value, "" clears it (a
// custom field set to "" is removed).
type ContactPatch struct {
	Number    *string           `json:"number"`
	FirstName *string           `json:"first_name"`
	LastName  *string           `json:"last_name"`
	Email     *string           `json:"email"`
	Fields    map[string]string `json:"fields"`
}

// ContactQuery selects a page of contacts, ordered by number.
type ContactQuery struct {
	Prefix string // only numbers starting with these E.164 digits
	After  string // the number after which the page starts (the cursor)
	Limit  int    // 1..1000, default 50
}

// Limits of contacts.
const (
	contactMaxName      = 100
	contactMaxEmail     = 254
	contactMaxFields    = 20
	contactMaxFieldKey  = 40
	contactMaxFieldVal  = 500
	contactBatch        = 500 // contacts per upsert script call
	contactDefaultLimit = 50
	contactMaxLimit     = 1000
)

// ErrContactExists: another contact of the account has that number.
var ErrContactExists = errors.New("contact exists")

var (
	//go:embed lua/contact_upsert.lua
	contactUpsertLua    string
	contactUpsertScript = redis.NewScript(contactUpsertLua)
	//go:embed lua/contact_update.lua
	contactUpdateLua    string
	contactUpdateScript = redis.NewScript(contactUpdateLua)
	//go:embed lua/contact_delete.lua
	contactDeleteLua    string
	contactDeleteScript = redis.NewScript(contactDeleteLua)
)

// contactReserved are the columns and keys that are not custom fields.
var contactReserved = []string{"id", "account_id", "number", "first_name", "last_name", "email", "created_at", "updated_at"}

// contactKeys are the account-level keys of an account's contacts.
func (s *Store) contactKeys(accountID string) (shard int, zset, index string, err error) {
	shard, err = s.shardFromID(accountID)
	if err != nil {
		return 0, "", "", err
	}
	return shard, s.skey(shard, "contacts", accountID), s.skey(shard, "contactnum", accountID), nil
}

// UpsertContact creates a contact of accountID, or merges in into the one
// with the same number. created says which.
func (s *Store) UpsertContact(ctx context.Context, accountID string, in ContactInput) (c *Contact, created bool, err error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, false, err
	}
	if in, err = NormContact(acct, in); err != nil {
		return nil, false, err
	}
	res, err := s.upsertContacts(ctx, accountID, []ContactInput{in})
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
func (s *Store) upsertContacts(ctx context.Context, accountID string, ins []ContactInput) ([]upserted, error) {
	shard, zset, index, err := s.contactKeys(accountID)
	if err != nil {
		return nil, err
	}
	out := make([]upserted, 0, len(ins))
	for chunk := range slices.Chunk(ins, contactBatch) {
		args := []any{s.now().UnixMilli(), accountID, s.skey(shard, "contact") + ":", len(chunk)}
		for _, in := range chunk {
			fields, err := json.Marshal(in.Fields)
			if err != nil {
				return nil, fmt.Errorf("upsert contacts of %s: %w", accountID, err)
			}
			if in.Fields == nil {
				fields = []byte("{}")
			}
			args = append(args, newShardedID("c", shard), in.Number, in.FirstName, in.LastName, in.Email, string(fields))
		}
		res, err := contactUpsertScript.Run(ctx, s.rdb, []string{zset, index}, args...).StringSlice()
		if err != nil {
			return nil, fmt.Errorf("upsert contacts of %s: %w", accountID, err)
		}
		for i := 0; i+1 < len(res); i += 2 {
			out = append(out, upserted{ID: res[i+1], Created: res[i] == "c"})
		}
	}
	return out, nil
}

// GetContact returns contact id of accountID; another account's contact is
// ErrNotFound.
func (s *Store) GetContact(ctx context.Context, accountID, id string) (*Contact, error) {
	cs, err := s.loadContacts(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 || cs[0].AccountID != accountID {
		return nil, fmt.Errorf("contact %q: %w", id, ErrNotFound)
	}
	return cs[0], nil
}

// UpdateContact applies p to contact id of accountID. A number another
// contact of the account has is ErrContactExists.
func (s *Store) UpdateContact(ctx context.Context, accountID, id string, p ContactPatch) (*Contact, error) {
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
			return nil, acctInvalid("number: %q: %s", *p.Number, phoneReason(err))
		}
	}
	args := []any{s.now().UnixMilli(), accountID, number}
	for _, f := range []struct {
		name string
		v    *string
	}{{"first_name", p.FirstName}, {"last_name", p.LastName}} {
		if f.v == nil {
			continue
		}
		v, err := contactText(f.name, *f.v, contactMaxName)
		if err != nil {
			return nil, err
		}
		args = append(args, f.name, v)
	}
	if p.Email != nil {
		v, err := contactEmail(*p.Email)
		if err != nil {
			return nil, err
		}
		args = append(args, "email", v)
	}
	fields, err := contactFields(p.Fields)
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
		if len(after) > contactMaxFields {
			return nil, acctInvalid("fields: the contact would have %d custom fields, at most %d are allowed", len(after), contactMaxFields)
		}
	}
	for k, v := range fields {
		args = append(args, "f:"+k, v)
	}
	res, err := contactUpdateScript.Run(ctx, s.rdb, []string{ckey, zset, index}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("update contact %s: %w", id, err)
	}
	switch res[0] {
	case "nf":
		return nil, fmt.Errorf("contact %q: %w", id, ErrNotFound)
	case "taken":
		return nil, fmt.Errorf("%w: number: %s is already contact %s of account %s", ErrContactExists, number, res[1], accountID)
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
	keys := []string{ckey, zset, index, s.skey(shard, "cgroups", id)}
	res, err := contactDeleteScript.Run(ctx, s.rdb, keys, accountID, id, s.skey(shard, "gmembers")+":").StringSlice()
	if err != nil {
		return fmt.Errorf("delete contact %s: %w", id, err)
	}
	if res[0] != "ok" {
		return fmt.Errorf("contact %q: %w", id, ErrNotFound)
	}
	return nil
}

// ListContacts returns a page of accountID's contacts ordered by number,
// and the cursor of the next page ("" when this is the last).
func (s *Store) ListContacts(ctx context.Context, accountID string, q ContactQuery) ([]*Contact, string, error) {
	_, zset, index, err := s.contactKeys(accountID)
	if err != nil {
		return nil, "", err
	}
	if q.Limit <= 0 {
		q.Limit = contactDefaultLimit
	}
	q.Limit = min(q.Limit, contactMaxLimit)
	start, stop := "-", "+"
	if q.Prefix != "" {
		start, stop = "["+q.Prefix, "["+q.Prefix+"\xff"
	}
	if q.After != "" && (q.Prefix == "" || q.After >= q.Prefix) {
		start = "(" + q.After
	}
	numbers, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: zset, Start: start, Stop: stop, ByLex: true,
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
		return []*Contact{}, "", nil
	}
	ids, err := s.rdb.HMGet(ctx, index, numbers...).Result()
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
func (s *Store) ContactByNumber(ctx context.Context, accountID, number string) (*Contact, error) {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	n, err := phone.Normalize(number, acct.DefaultCountry)
	if err != nil {
		return nil, fmt.Errorf("contact with number %q: %w", number, ErrNotFound)
	}
	owners := []string{acct.ID}
	if acct.ParentID != "" && acct.Can(FlagShareContacts) {
		owners = append(owners, acct.ParentID)
	}
	for _, owner := range owners {
		c, err := s.contactOfNumber(ctx, owner, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		return c, err
	}
	return nil, fmt.Errorf("contact with number %s: %w", n, ErrNotFound)
}

// contactOfNumber is the contact of accountID with E.164 number n.
func (s *Store) contactOfNumber(ctx context.Context, accountID, n string) (*Contact, error) {
	_, _, index, err := s.contactKeys(accountID)
	if err != nil {
		return nil, err
	}
	id, err := s.rdb.HGet(ctx, index, n).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("contact with number %s: %w", n, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("contact with number %s: %w", n, err)
	}
	return s.GetContact(ctx, accountID, id)
}

// contactKey is the hash key of contact id.
func (s *Store) contactKey(id string) (string, error) {
	if !strings.HasPrefix(id, "c") {
		return "", fmt.Errorf("contact %q: %w", id, ErrNotFound)
	}
	shard, err := s.shardFromID(id)
	if err != nil {
		return "", fmt.Errorf("contact %q: %w", id, ErrNotFound)
	}
	return s.skey(shard, "contact", id), nil
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
	return "", fmt.Errorf("contact %q: %w", id, ErrNotFound)
}

// sameShard reports whether two sharded ids name the same shard.
func sameShard(a, b string) bool {
	x, err1 := ShardOf(a)
	y, err2 := ShardOf(b)
	return err1 == nil && err2 == nil && x == y
}

// loadContacts loads contacts by id in one pipeline, in the order given,
// skipping ids without a record.
func (s *Store) loadContacts(ctx context.Context, ids []string) ([]*Contact, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, 0, len(ids))
	for _, id := range ids {
		key, err := s.contactKey(id)
		if err != nil {
			continue
		}
		cmds = append(cmds, pipe.HGetAll(ctx, key))
	}
	if len(cmds) == 0 {
		return []*Contact{}, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	out := make([]*Contact, 0, len(cmds))
	for _, c := range cmds {
		if h := c.Val(); len(h) > 0 && h["id"] != "" {
			out = append(out, contactFromHash(h))
		}
	}
	return out, nil
}

// contactFromHash decodes a contact hash.
func contactFromHash(h map[string]string) *Contact {
	c := &Contact{ID: h["id"], AccountID: h["account_id"], Number: h["number"], FirstName: h["first_name"],
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
