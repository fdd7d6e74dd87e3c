package rules

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/reply_rules_set.lua
	replyRulesSetLua    string
	replyRulesSetScript = store.NewScript("rules/reply_rules_set.lua", replyRulesSetLua)
)

// replyRulesKey returns the rules key of account id, or ErrNotFound.
func (s *Store) replyRulesKey(id string) (acctKey, rulesKey string, err error) {
	acctKey, err = s.AcctKey(id)
	if err != nil {
		return "", "", err
	}
	shard, _ := s.ShardFromID(id)
	return acctKey, s.Keys.ReplyRules(shard, id), nil
}

// ReplyRules returns account id's reply rules, and whether any are stored
// (false: the defaults). It does not check that the account exists: the
// rules of an unknown account are the defaults.
func (s *Store) ReplyRules(ctx context.Context, accountID string) (accounts.ReplyRules, bool, error) {
	_, key, err := s.replyRulesKey(accountID)
	if err != nil {
		return accounts.DefaultReplyRules(), false, nil
	}
	h, err := s.RDB.HGetAll(ctx, key).Result()
	if err != nil {
		return accounts.ReplyRules{}, false, fmt.Errorf("reply rules of %s: %w", accountID, err)
	}
	r := accounts.DefaultReplyRules()
	if len(h) == 0 {
		return r, false, nil
	}
	if v, ok := h["mail_sender"]; ok {
		r.MailSender = v == "1"
	}
	if v, ok := h["webhook"]; ok {
		r.Webhook = v == "1"
	}
	if v := h["forward_to"]; v != "" {
		if err := json.Unmarshal([]byte(v), &r.ForwardTo); err != nil {
			return accounts.ReplyRules{}, false, fmt.Errorf("reply rules of %s: forward_to: %w", accountID, err)
		}
	}
	return r, true, nil
}

// SetReplyRules applies ch to account id's reply rules in one atomic step
// and returns the rules now in force. ErrNotFound for an unknown or deleted
// account; ErrInvalid (naming the field) for a bad address or an empty
// change.
func (s *Store) SetReplyRules(ctx context.Context, accountID string, ch accounts.ReplyRulesChange) (accounts.ReplyRules, error) {
	if ch.MailSender == nil && ch.ForwardTo == nil && ch.Webhook == nil {
		return accounts.ReplyRules{}, fmt.Errorf("%w: give mail_sender, forward_to, webhook or several", accounts.ErrInvalid)
	}
	acctKey, key, err := s.replyRulesKey(accountID)
	if err != nil {
		return accounts.ReplyRules{}, fmt.Errorf("set reply rules: %w", err)
	}
	var fields []any
	flag := func(name string, b *bool) {
		if b != nil {
			v := "0"
			if *b {
				v = "1"
			}
			fields = append(fields, name, v)
		}
	}
	flag("mail_sender", ch.MailSender)
	flag("webhook", ch.Webhook)
	if ch.ForwardTo != nil {
		to, err := accounts.NormForwardTo(*ch.ForwardTo)
		if err != nil {
			return accounts.ReplyRules{}, fmt.Errorf("reply rules of %s: %w", accountID, err)
		}
		b, _ := json.Marshal(to) // a []string always marshals
		fields = append(fields, "forward_to", string(b))
	}
	err = s.Run(ctx, replyRulesSetScript, []string{acctKey, key}, fields...).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return accounts.ReplyRules{}, fmt.Errorf("set reply rules: account %q: %w", accountID, accounts.ErrNotFound)
	case err != nil:
		return accounts.ReplyRules{}, fmt.Errorf("set reply rules of %s: %w", accountID, err)
	}
	r, _, err := s.ReplyRules(ctx, accountID)
	return r, err
}
