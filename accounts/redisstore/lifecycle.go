package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/money_close.lua
	moneyCloseLua    string
	moneyCloseScript = store.NewScript("redisstore/money_close.lua", moneyCloseLua)
)

// DeleteAccount deletes a sub-account (a root account cannot be deleted:
// ErrInvalid). One Lua script returns its balance to the parent with ledger
// entries "close_out" and "close_in" (a postpaid debt is settled by the
// parent, if the parent stays above its own floor, else *BalanceError and
// nothing changes), marks it StatusDeleted and moves it from the parent's
// sub-account list to its list of deleted ones. From that moment the account
// is ErrNotFound everywhere: its keys stop authenticating, its senders are
// unknown, nothing more can be accepted, credited or transferred.
//
// Then its email-to-SMS domains and addresses are released (another account
// may claim them) and its API keys revoked. If that cleanup is interrupted,
// calling DeleteAccount again finishes it and answers ErrNotFound.
//
// Messages accepted before the deletion are paid for and still delivered;
// their receipts and any replies land in the kept records. Data is kept, not
// erased: the record (status "deleted", deleted_at), its ledger (which sums
// to its zero balance), message log, inbox and statistics stay for the
// parent's reports and audit.
func (s *Store) DeleteAccount(ctx context.Context, id, actor string) (*accounts.DeleteResult, error) {
	key, err := s.AcctKey(id)
	if err != nil {
		return nil, fmt.Errorf("delete account: %w", err)
	}
	h, err := s.RDB.HMGet(ctx, key, "id", "parent_id", "status", "currency").Result()
	if err != nil {
		return nil, fmt.Errorf("delete account %s: %w", id, err)
	}
	str := func(i int) string { v, _ := h[i].(string); return v }
	switch {
	case str(0) == "":
		return nil, fmt.Errorf("delete account %q: %w", id, accounts.ErrNotFound)
	case accounts.Status(str(2)) == accounts.StatusDeleted:
		if _, err := s.lifecycleCleanup(ctx, id); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("delete account %q: %w", id, accounts.ErrNotFound)
	case str(1) == "":
		return nil, accounts.Invalidf("id: %s is a parent account; only sub-accounts can be deleted", id)
	}
	parentID := str(1)
	shard, _ := s.ShardFromID(id)
	keys := []string{key, s.Keys.Account(shard, parentID), s.Keys.Ledger(shard, id),
		s.Keys.Ledger(shard, parentID), s.Keys.Subs(shard, parentID), s.Keys.DeletedSubs(shard, parentID)}
	res, err := s.Run(ctx, moneyCloseScript, keys, s.Now().UnixMilli(), accounts.TrimLedgerText(actor), id, parentID).Slice()
	if err != nil {
		return nil, fmt.Errorf("delete account %s: %w", id, err)
	}
	switch store.ReplyStr(res, 0) {
	case "ok":
	case "insufficient":
		return nil, fmt.Errorf("delete account %s: settle its debt from parent %s: %w", id, parentID,
			&accounts.BalanceError{Need: store.ReplyInt(res, 4), Have: store.ReplyInt(res, 1), Currency: store.ReplyStr(res, 2), CreditLimit: store.ReplyInt(res, 3), Reserved: store.ReplyInt(res, 5)})
	default:
		return nil, fmt.Errorf("delete account %q: %w", id, accounts.ErrNotFound)
	}
	out, err := s.lifecycleCleanup(ctx, id)
	if err != nil {
		return nil, err
	}
	out.ParentID, out.Returned, out.Currency = parentID, store.ReplyInt(res, 1), str(3)
	return out, nil
}

// lifecycleCleanup releases a deleted account's registrations and revokes
// its keys. It is idempotent.
func (s *Store) lifecycleCleanup(ctx context.Context, id string) (*accounts.DeleteResult, error) {
	shard, _ := s.ShardFromID(id)
	out := &accounts.DeleteResult{AccountID: id, Domains: []string{}, Addresses: []string{}, Keys: []string{}}
	regs, err := s.RDB.SMembers(ctx, s.Keys.Registrations(shard, id)).Result()
	if err != nil {
		return nil, fmt.Errorf("delete account %s: registrations: %w", id, err)
	}
	for _, r := range regs {
		kind, value, _ := strings.Cut(r, ":")
		err := s.RegRelease(ctx, id, kind, value)
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			return nil, fmt.Errorf("delete account %s: %w", id, err)
		}
		if kind == "domain" {
			out.Domains = append(out.Domains, value)
		} else {
			out.Addresses = append(out.Addresses, value)
		}
	}
	if err := s.DropPendingRegistrations(ctx, id); err != nil {
		return nil, fmt.Errorf("delete account %s: %w", id, err)
	}
	keys, err := s.RDB.SMembers(ctx, s.Keys.APIKeys(shard, id)).Result()
	if err != nil {
		return nil, fmt.Errorf("delete account %s: keys: %w", id, err)
	}
	for _, k := range keys {
		err := s.RevokeKey(ctx, id, k)
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			return nil, fmt.Errorf("delete account %s: %w", id, err)
		}
		if err == nil {
			out.Keys = append(out.Keys, k)
		}
	}
	return out, nil
}

// DeletedSubAccounts returns the deleted sub-accounts of parentID (status
// StatusDeleted, balance zero), for reports and audit, sorted by name.
func (s *Store) DeletedSubAccounts(ctx context.Context, parentID string) ([]*accounts.Account, error) {
	if _, err := s.GetAccount(ctx, parentID); err != nil {
		return nil, fmt.Errorf("deleted sub-accounts: %w", err)
	}
	shard, _ := s.ShardFromID(parentID)
	ids, err := s.RDB.SMembers(ctx, s.Keys.DeletedSubs(shard, parentID)).Result()
	if err != nil {
		return nil, fmt.Errorf("deleted sub-accounts of %s: %w", parentID, err)
	}
	pipe := s.RDB.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.Keys.Account(shard, id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("deleted sub-accounts of %s: %w", parentID, err)
		}
	}
	out := make([]*accounts.Account, 0, len(ids))
	for i, c := range cmds {
		h := c.Val()
		if accounts.Status(h["status"]) != accounts.StatusDeleted {
			continue
		}
		h["status"] = string(accounts.StatusDeactivated) // decode as a visible record, then mark it
		a, err := accounts.AccountFromHash(ids[i], h)
		if err != nil {
			return nil, fmt.Errorf("deleted sub-accounts of %s: %w", parentID, err)
		}
		a.Status = accounts.StatusDeleted
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y *accounts.Account) int {
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out, nil
}
