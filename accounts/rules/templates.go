package rules

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/phone"
)

var (
	//go:embed lua/tpl_save.lua
	tplSaveLua    string
	tplSaveScript = store.NewScript("rules/tpl_save.lua", tplSaveLua)

	//go:embed lua/tpl_delete.lua
	tplDeleteLua    string
	tplDeleteScript = store.NewScript("rules/tpl_delete.lua", tplDeleteLua)
)

// Template limits.
const (
	TemplateMaxName = 64   // characters
	TemplateMaxBody = 2000 // characters, before placeholders are filled
	tplRetries      = 5    // compare-and-set attempts against concurrent changes
)

func tplInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{accounts.ErrInvalid}, args...)...)
}

// tplNormName trims and checks a template name.
func tplNormName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", tplInvalid("name: required")
	case n > TemplateMaxName:
		return "", tplInvalid("name: %d characters, at most %d", n, TemplateMaxName)
	case LooksLikeTemplateID(name):
		return "", tplInvalid("name: %q has the form of a template id; choose another", name)
	}
	for i, r := range name {
		if unicode.IsControl(r) || strings.ContainsRune("[]{}/", r) {
			return "", tplInvalid("name: %q has %q at character %d; names cannot contain control characters or [ ] { } /",
				name, r, accounts.RunePos(name, i))
		}
	}
	return name, nil
}

// tplCheckBody checks a template body: not empty, not too long, readable.
func tplCheckBody(body string) error {
	if strings.TrimSpace(body) == "" {
		return tplInvalid("body: required")
	}
	if n := utf8.RuneCountInString(body); n > TemplateMaxBody {
		return tplInvalid("body: %d characters, at most %d", n, TemplateMaxBody)
	}
	return accounts.ValidateTemplateBody(body)
}

// LooksLikeTemplateID reports whether ref has the form of a template id
// ("t<shard>-<16 base32 characters>"). Names of that form are refused, so
// that a reference is never both.
func LooksLikeTemplateID(ref string) bool {
	i := strings.IndexByte(ref, '-')
	if i < 2 || ref[0] != 't' || len(ref)-i-1 != 16 {
		return false
	}
	if !phone.IsDigits(ref[1:i]) {
		return false
	}
	for _, c := range ref[i+1:] {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", c) {
			return false
		}
	}
	return true
}

// tplKeys returns the template keys of accountID and the key of its record.
func (s *Store) tplKeys(accountID string) (tpls, names, acct string, err error) {
	acct, err = s.AcctKey(accountID)
	if err != nil {
		return "", "", "", err
	}
	shard, _ := s.ShardFromID(accountID)
	return s.Keys.Templates(shard, accountID), s.Keys.TemplateNames(shard, accountID), acct, nil
}

// CreateTemplate stores a new template of accountID. The name must be free
// in the account (ErrTemplateNameTaken); a parent's template of the same
// name is allowed and is shadowed by the new one.
func (s *Store) CreateTemplate(ctx context.Context, accountID, name, body string) (*accounts.Template, error) {
	name, err := tplNormName(name)
	if err != nil {
		return nil, err
	}
	if err := tplCheckBody(body); err != nil {
		return nil, err
	}
	tpls, names, acct, err := s.tplKeys(accountID)
	if err != nil {
		return nil, fmt.Errorf("create template: %w", err)
	}
	q, err := s.QuotasOf(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("create template: %w", err)
	}
	shard, _ := s.ShardFromID(accountID)
	now := time.UnixMilli(s.Now().UnixMilli()).UTC()
	for range tplRetries {
		t := &accounts.Template{ID: store.NewShardedID("t", shard), AccountID: accountID, Name: name, Body: body, CreatedAt: now, UpdatedAt: now}
		js, _ := json.Marshal(t)
		res, err := s.Run(ctx, tplSaveScript, []string{tpls, names, acct},
			t.ID, accounts.FoldName(name), js, "", "", q.Templates).Text()
		if err != nil {
			return nil, fmt.Errorf("create template in %s: %w", accountID, err)
		}
		if res == "full" {
			return nil, &accounts.QuotaError{Account: accountID, Quota: accounts.QuotaTemplates, Limit: q.Templates, Used: q.Templates, Want: 1}
		}
		if err := tplResult(res, accountID, name); err != nil {
			return nil, err
		}
		if res == "ok" {
			return t, nil
		}
	}
	return nil, fmt.Errorf("create template in %s: no free id after %d attempts", accountID, tplRetries)
}

// tplResult maps a script's answer to an error; "ok" and "retry" are nil.
func tplResult(res, accountID, name string) error {
	switch res {
	case "ok", "retry":
		return nil
	case "noaccount":
		return fmt.Errorf("account %q: %w", accountID, accounts.ErrNotFound)
	case "notfound":
		return fmt.Errorf("template: %w", accounts.ErrNotFound)
	case "taken":
		return fmt.Errorf("name: %q: %w in account %s", name, accounts.ErrTemplateNameTaken, accountID)
	case "full":
		return fmt.Errorf("%w: templates of account %s", accounts.ErrQuota, accountID)
	}
	return fmt.Errorf("template script: unexpected answer %q", res)
}

// UpdateTemplate changes the name or body of accountID's own template id
// and returns it as stored.
func (s *Store) UpdateTemplate(ctx context.Context, accountID, id string, u accounts.TemplateUpdate) (*accounts.Template, error) {
	var name string
	if u.Name != nil {
		n, err := tplNormName(*u.Name)
		if err != nil {
			return nil, err
		}
		name = n
	}
	if u.Body != nil {
		if err := tplCheckBody(*u.Body); err != nil {
			return nil, err
		}
	}
	tpls, names, acct, err := s.tplKeys(accountID)
	if err != nil {
		return nil, fmt.Errorf("update template: %w", err)
	}
	for range tplRetries {
		raw, cur, err := s.tplRead(ctx, tpls, id)
		if err != nil {
			return nil, fmt.Errorf("update template %s of %s: %w", id, accountID, err)
		}
		t := *cur
		if u.Name != nil {
			t.Name = name
		}
		if u.Body != nil {
			t.Body = *u.Body
		}
		t.UpdatedAt = time.UnixMilli(s.Now().UnixMilli()).UTC()
		js, _ := json.Marshal(&t)
		res, err := s.Run(ctx, tplSaveScript, []string{tpls, names, acct},
			id, accounts.FoldName(t.Name), js, raw, accounts.FoldName(cur.Name), accounts.MaxQuota).Text() // an update adds none
		if err != nil {
			return nil, fmt.Errorf("update template %s of %s: %w", id, accountID, err)
		}
		if err := tplResult(res, accountID, t.Name); err != nil {
			return nil, err
		}
		if res == "ok" {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("update template %s of %s: changed concurrently %d times", id, accountID, tplRetries)
}

// DeleteTemplate deletes accountID's own template id. Sub-accounts that
// used it (as the parent's) fall back to nothing: a send naming it is
// refused from then on.
func (s *Store) DeleteTemplate(ctx context.Context, accountID, id string) error {
	tpls, names, _, err := s.tplKeys(accountID)
	if err != nil {
		return fmt.Errorf("delete template: %w", err)
	}
	for range tplRetries {
		raw, cur, err := s.tplRead(ctx, tpls, id)
		if err != nil {
			return fmt.Errorf("delete template %s of %s: %w", id, accountID, err)
		}
		res, err := s.Run(ctx, tplDeleteScript, []string{tpls, names}, id, raw, accounts.FoldName(cur.Name)).Text()
		if err != nil {
			return fmt.Errorf("delete template %s of %s: %w", id, accountID, err)
		}
		if err := tplResult(res, accountID, cur.Name); err != nil {
			return err
		}
		if res == "ok" {
			return nil
		}
	}
	return fmt.Errorf("delete template %s of %s: changed concurrently %d times", id, accountID, tplRetries)
}

// tplRead reads one template as stored (raw, for compare-and-set) and
// decoded. ErrNotFound if absent.
func (s *Store) tplRead(ctx context.Context, tpls, id string) (string, *accounts.Template, error) {
	raw, err := s.RDB.HGet(ctx, tpls, id).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil, fmt.Errorf("template %q: %w", id, accounts.ErrNotFound)
	}
	if err != nil {
		return "", nil, err
	}
	var t accounts.Template
	if err := json.Unmarshal([]byte(raw), &t); err != nil {
		return "", nil, fmt.Errorf("template %s: decode: %w", id, err)
	}
	return raw, &t, nil
}

// tplParent returns the parent of accountID ("" for a root), or
// ErrNotFound for an account that does not exist or is deleted.
func (s *Store) tplParent(ctx context.Context, accountID string) (string, error) {
	key, err := s.AcctKey(accountID)
	if err != nil {
		return "", err
	}
	v, err := s.RDB.HMGet(ctx, key, "id", "parent_id", "status").Result()
	if err != nil {
		return "", fmt.Errorf("account %s: %w", accountID, err)
	}
	str := func(i int) string { x, _ := v[i].(string); return x }
	if str(0) == "" || accounts.Status(str(2)) == accounts.StatusDeleted {
		return "", fmt.Errorf("account %q: %w", accountID, accounts.ErrNotFound)
	}
	return str(1), nil
}

// tplOwnByRef finds accountID's own template by id or by name.
func (s *Store) tplOwnByRef(ctx context.Context, accountID, ref string) (*accounts.Template, error) {
	tpls, names, _, err := s.tplKeys(accountID)
	if err != nil {
		return nil, err
	}
	id := ref
	if !LooksLikeTemplateID(ref) {
		id, err = s.RDB.HGet(ctx, names, accounts.FoldName(ref)).Result()
		if errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("template %q: %w", ref, accounts.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("template %q of %s: %w", ref, accountID, err)
		}
	}
	_, t, err := s.tplRead(ctx, tpls, id)
	return t, err
}

// LookupTemplate finds the template ref (an id or a name) as accountID
// sees it: its own first, then its parent's. The result's AccountID says
// whose it is. ErrNotFound when neither has it.
func (s *Store) LookupTemplate(ctx context.Context, accountID, ref string) (*accounts.Template, error) {
	parent, err := s.tplParent(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("template %q: %w", ref, err)
	}
	for _, owner := range []string{accountID, parent} {
		if owner == "" {
			continue
		}
		t, err := s.tplOwnByRef(ctx, owner, ref)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, accounts.ErrNotFound) {
			return nil, fmt.Errorf("template %q for %s: %w", ref, accountID, err)
		}
	}
	return nil, fmt.Errorf("template %q for %s: %w", ref, accountID, accounts.ErrNotFound)
}

// Template returns the template named name (case-insensitive) that
// accountID uses: its own, else its parent's. ErrNotFound when there is
// none. This is what sending uses (router.TemplateStore).
func (s *Store) Template(ctx context.Context, accountID, name string) (*accounts.Template, error) {
	name = strings.TrimSpace(name)
	if name == "" || LooksLikeTemplateID(name) {
		return nil, fmt.Errorf("template %q: %w", name, accounts.ErrNotFound)
	}
	return s.LookupTemplate(ctx, accountID, name)
}

// ListTemplates returns accountID's own templates and its parent's,
// sorted by name, the own one first where both have a name (the parent's
// is then Shadowed).
func (s *Store) ListTemplates(ctx context.Context, accountID string) ([]accounts.TemplateListing, error) {
	parent, err := s.tplParent(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	out := []accounts.TemplateListing{}
	own := map[string]bool{}
	for _, owner := range []string{accountID, parent} {
		if owner == "" {
			continue
		}
		tpls, _, _, err := s.tplKeys(owner)
		if err != nil {
			return nil, fmt.Errorf("list templates of %s: %w", owner, err)
		}
		all, err := s.RDB.HGetAll(ctx, tpls).Result()
		if err != nil {
			return nil, fmt.Errorf("list templates of %s: %w", owner, err)
		}
		for id, raw := range all {
			var t accounts.Template
			if err := json.Unmarshal([]byte(raw), &t); err != nil {
				return nil, fmt.Errorf("list templates of %s: template %s: decode: %w", owner, id, err)
			}
			l := accounts.TemplateListing{Template: t, Inherited: owner != accountID}
			if l.Inherited {
				l.Shadowed = own[accounts.FoldName(t.Name)]
			} else {
				own[accounts.FoldName(t.Name)] = true
			}
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b accounts.TemplateListing) int {
		if c := strings.Compare(accounts.FoldName(a.Name), accounts.FoldName(b.Name)); c != 0 {
			return c
		}
		if a.Inherited != b.Inherited {
			if a.Inherited {
				return 1
			}
			return -1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
