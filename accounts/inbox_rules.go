package accounts

// Reply routing rules (seed 002, ClickSend's "inbound rules"): per account,
// where each reply goes besides the inbox. Every reply is stored in the
// inbox whatever the rules say; they decide only the notifications:
//
//	mail_sender  mail the reply to the sender of the original (default on)
//	forward_to   also mail it to these fixed addresses (default none)
//	webhook      fire the reply.received webhook event (default on)
//
// An account with no rules stored behaves as if it had the defaults; the
// router's inbox-rules hook (router/inboxrules.go) applies them.
//
// Keyspace (P is the store's prefix):
//
//	P:{sN}:replyrules:<acct>   HASH   mail_sender "1"/"0", webhook "1"/"0",
//	                                  forward_to (JSON array of addresses)
//
// An absent field is its default, so a partial update is one HSET of the
// fields it names (reply_rules_set.lua, after checking the account exists).

import (
	"context"
	_ "embed" // Lua scripts
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/reply_rules_set.lua
	replyRulesSetLua    string
	replyRulesSetScript = redis.NewScript(replyRulesSetLua)
)

// MaxForwardTo bounds ReplyRules.ForwardTo: every reply is mailed once per
// address.
const MaxForwardTo = 10

// ReplyRules are an account's reply routing rules.
type ReplyRules struct {
	// MailSender mails each reply to the sender of the original message
	// (when that sender is a mailbox, not an API key).
	MailSender bool `json:"mail_sender"`
	// ForwardTo are addresses each reply is also mailed to, threaded like
	// the mail to the sender.
	ForwardTo []string `json:"forward_to"`
	// Webhook fires the account's reply.received webhook event.
	Webhook bool `json:"webhook"`
}

// DefaultReplyRules are the rules of an account that has stored none: mail
// the sender and fire the webhook, as smsgate always did.
func DefaultReplyRules() ReplyRules {
	return ReplyRules{MailSender: true, ForwardTo: []string{}, Webhook: true}
}

// IsDefault reports whether r behaves as DefaultReplyRules.
func (r ReplyRules) IsDefault() bool {
	return r.MailSender && r.Webhook && len(r.ForwardTo) == 0
}

// ReplyRulesChange changes an account's rules; a nil field is left as it
// is.
type ReplyRulesChange struct {
	MailSender *bool
	ForwardTo  *[]string
	Webhook    *bool
}

// NormForwardTo validates forward addresses: each a bare address
// (local@domain, no display name), at most MaxForwardTo; domains are
// lower-cased and repeats dropped. Errors are ErrInvalid naming the entry,
// e.g. `forward_to[1]: "ops" is not an email address`.
func NormForwardTo(addrs []string) ([]string, error) {
	if len(addrs) > MaxForwardTo {
		return nil, fmt.Errorf("%w: forward_to: %d addresses, at most %d", ErrInvalid, len(addrs), MaxForwardTo)
	}
	out := make([]string, 0, len(addrs))
	seen := map[string]bool{}
	for i, raw := range addrs {
		a := strings.TrimSpace(raw)
		p, err := mail.ParseAddress(a)
		if err != nil || p.Name != "" || p.Address != a || strings.ContainsAny(a, " \t\r\n<>,;") {
			return nil, fmt.Errorf("%w: forward_to[%d]: %q is not an email address (local@domain)", ErrInvalid, i, raw)
		}
		at := strings.LastIndexByte(a, '@')
		if at <= 0 || !strings.Contains(a[at+1:], ".") {
			return nil, fmt.Errorf("%w: forward_to[%d]: %q has no domain name after @", ErrInvalid, i, raw)
		}
		a = a[:at+1] + strings.ToLower(a[at+1:])
		if k := strings.ToLower(a); !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// replyRulesKey returns the rules key of account id, or ErrNotFound.
func (s *Store) replyRulesKey(id string) (acctKey, rulesKey string, err error) {
	acctKey, err = s.acctKey(id)
	if err != nil {
		return "", "", err
	}
	shard, _ := s.shardFromID(id)
	return acctKey, s.skey(shard, "replyrules", id), nil
}

// ReplyRules returns account id's reply rules, and whether any are stored
// (false: the defaults). It does not check that the account exists: the
// rules of an unknown account are the defaults.
func (s *Store) ReplyRules(ctx context.Context, accountID string) (ReplyRules, bool, error) {
	_, key, err := s.replyRulesKey(accountID)
	if err != nil {
		return DefaultReplyRules(), false, nil
	}
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return ReplyRules{}, false, fmt.Errorf("reply rules of %s: %w", accountID, err)
	}
	r := DefaultReplyRules()
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
			return ReplyRules{}, false, fmt.Errorf("reply rules of %s: forward_to: %w", accountID, err)
		}
	}
	return r, true, nil
}

// SetReplyRules applies ch to account id's reply rules in one atomic step
// and returns the rules now in force. ErrNotFound for an unknown or deleted
// account; ErrInvalid (naming the field) for a bad address or an empty
// change.
func (s *Store) SetReplyRules(ctx context.Context, accountID string, ch ReplyRulesChange) (ReplyRules, error) {
	if ch.MailSender == nil && ch.ForwardTo == nil && ch.Webhook == nil {
		return ReplyRules{}, fmt.Errorf("%w: give mail_sender, forward_to, webhook or several", ErrInvalid)
	}
	acctKey, key, err := s.replyRulesKey(accountID)
	if err != nil {
		return ReplyRules{}, fmt.Errorf("set reply rules: %w", err)
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
		to, err := NormForwardTo(*ch.ForwardTo)
		if err != nil {
			return ReplyRules{}, fmt.Errorf("reply rules of %s: %w", accountID, err)
		}
		b, _ := json.Marshal(to) // a []string always marshals
		fields = append(fields, "forward_to", string(b))
	}
	err = replyRulesSetScript.Run(ctx, s.rdb, []string{acctKey, key}, fields...).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return ReplyRules{}, fmt.Errorf("set reply rules: account %q: %w", accountID, ErrNotFound)
	case err != nil:
		return ReplyRules{}, fmt.Errorf("set reply rules of %s: %w", accountID, err)
	}
	r, _, err := s.ReplyRules(ctx, accountID)
	return r, err
}
