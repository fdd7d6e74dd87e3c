package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
)

// optOutValue is the stored form of an OptOut (the number is the field).
type optOutValue struct {
	At     int64  `json:"at"` // unix ms
	Reason string `json:"reason,omitempty"`
	Via    string `json:"via,omitempty"`
}

// OptOutList returns the id of the account whose opt-out list governs acct:
// its parent's when acct is a sub-account with share_contacts in force (seed
// 002 "Keep contacts, opt-out lists ... separate or shared"), else its own.
// accept.lua makes the same choice from the stored flags.
func (s *Store) OptOutList(acct *accounts.Account) string {
	if acct.ParentID != "" && acct.Can(accounts.FlagShareContacts) {
		return acct.ParentID
	}
	return acct.ID
}

// optOutKey is the hash of listOwner's opt-out list.
func (s *Store) optOutKey(listOwner string) (string, error) {
	shard, err := s.ShardFromID(listOwner)
	if err != nil {
		return "", fmt.Errorf("opt-out list: account %w", err)
	}
	return s.Keys.OptOut(shard, listOwner), nil
}

// validNumber reports whether n looks like E.164 digits without '+'.
func validNumber(n string) bool {
	if len(n) < 6 || len(n) > 15 {
		return false
	}
	return phone.IsDigits(n)
}

// AddOptOut puts o.Number on listOwner's opt-out list (o.At zero: now). A
// number already on it keeps its first record: added is false then.
func (s *Store) AddOptOut(ctx context.Context, listOwner string, o accounts.OptOut) (added bool, err error) {
	if !validNumber(o.Number) {
		return false, accounts.Invalidf("number: %q is not an E.164 number", o.Number)
	}
	key, err := s.optOutKey(listOwner)
	if err != nil {
		return false, err
	}
	if o.At.IsZero() {
		o.At = s.Now()
	}
	v, err := json.Marshal(optOutValue{At: o.At.UnixMilli(), Reason: o.Reason, Via: o.Via})
	if err != nil {
		return false, fmt.Errorf("opt out %s: %w", accounts.MaskNumber(o.Number), err)
	}
	added, err = s.RDB.HSetNX(ctx, key, o.Number, v).Result()
	if err != nil {
		return false, fmt.Errorf("opt out %s on %s: %w", accounts.MaskNumber(o.Number), listOwner, err)
	}
	return added, nil
}

// RemoveOptOut takes number off listOwner's list (resubscribes it).
// ErrNotFound when it is not on the list.
func (s *Store) RemoveOptOut(ctx context.Context, listOwner, number string) error {
	key, err := s.optOutKey(listOwner)
	if err != nil {
		return err
	}
	n, err := s.RDB.HDel(ctx, key, number).Result()
	if err != nil {
		return fmt.Errorf("resubscribe %s on %s: %w", accounts.MaskNumber(number), listOwner, err)
	}
	if n == 0 {
		return fmt.Errorf("number %s on the opt-out list of %s: %w", accounts.MaskNumber(number), listOwner, accounts.ErrNotFound)
	}
	return nil
}

// GetOptOut returns number's record on listOwner's list, or ErrNotFound.
func (s *Store) GetOptOut(ctx context.Context, listOwner, number string) (*accounts.OptOut, error) {
	key, err := s.optOutKey(listOwner)
	if err != nil {
		return nil, err
	}
	v, err := s.RDB.HGet(ctx, key, number).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("number %s on the opt-out list of %s: %w", accounts.MaskNumber(number), listOwner, accounts.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opt-out of %s on %s: %w", accounts.MaskNumber(number), listOwner, err)
	}
	o := optOutFrom(number, v)
	return &o, nil
}

// CheckOptOut reports, in one round trip, whether number is on listOwner's
// opt-out list and how many numbers the list holds (so that a caller can
// remember an empty list and skip the next lookups).
func (s *Store) CheckOptOut(ctx context.Context, listOwner, number string) (listed bool, size int64, err error) {
	key, err := s.optOutKey(listOwner)
	if err != nil {
		return false, 0, err
	}
	pipe := s.RDB.Pipeline()
	exists := pipe.HExists(ctx, key, number)
	n := pipe.HLen(ctx, key)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, 0, fmt.Errorf("opt-out check of %s on %s: %w", accounts.MaskNumber(number), listOwner, err)
	}
	return exists.Val(), n.Val(), nil
}

// ListOptOuts returns listOwner's opt-out list, newest first.
func (s *Store) ListOptOuts(ctx context.Context, listOwner string) ([]accounts.OptOut, error) {
	key, err := s.optOutKey(listOwner)
	if err != nil {
		return nil, err
	}
	h, err := s.RDB.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("opt-out list of %s: %w", listOwner, err)
	}
	out := make([]accounts.OptOut, 0, len(h))
	for n, v := range h {
		out = append(out, optOutFrom(n, v))
	}
	slices.SortFunc(out, func(a, b accounts.OptOut) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(a.Number, b.Number)
	})
	return out, nil
}

// optOutFrom decodes a stored record; a malformed one keeps its number.
func optOutFrom(number, v string) accounts.OptOut {
	var ov optOutValue
	_ = json.Unmarshal([]byte(v), &ov)
	o := accounts.OptOut{Number: number, Reason: ov.Reason, Via: ov.Via}
	if ov.At > 0 {
		o.At = time.UnixMilli(ov.At)
	}
	return o
}

// stopRuleKey is the hash of accountID's Stop rule.
func (s *Store) stopRuleKey(accountID string) (string, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return "", fmt.Errorf("stop rule: account %w", err)
	}
	return s.Keys.StopRule(shard, accountID), nil
}

// StopRule returns accountID's Stop rule; fields it never set have their
// defaults (DefaultStopRule).
func (s *Store) StopRule(ctx context.Context, accountID string) (*accounts.StopRule, error) {
	key, err := s.stopRuleKey(accountID)
	if err != nil {
		return nil, err
	}
	h, err := s.RDB.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("stop rule of %s: %w", accountID, err)
	}
	r := accounts.DefaultStopRule()
	if v, ok := h["keywords"]; ok && v != "" {
		r.Keywords = strings.Split(v, ",")
	}
	if v, ok := h["start_keywords"]; ok {
		r.StartKeywords = accounts.SplitList(v)
	}
	r.AllowStart = h["allow_start"] == "1"
	if v, ok := h["confirmation"]; ok {
		r.Confirmation = v
	}
	if v, ok := h["start_confirmation"]; ok {
		r.StartConfirmation = v
	}
	return &r, nil
}

// SetStopRule validates r (NormStopRule) and stores it whole as
// accountID's Stop rule, returning what was stored.
func (s *Store) SetStopRule(ctx context.Context, accountID string, r accounts.StopRule) (*accounts.StopRule, error) {
	key, err := s.stopRuleKey(accountID)
	if err != nil {
		return nil, err
	}
	r, err = accounts.NormStopRule(r)
	if err != nil {
		return nil, err
	}
	allow := "0"
	if r.AllowStart {
		allow = "1"
	}
	if err := s.RDB.HSet(ctx, key, "keywords", strings.Join(r.Keywords, ","),
		"start_keywords", strings.Join(r.StartKeywords, ","), "allow_start", allow,
		"confirmation", r.Confirmation, "start_confirmation", r.StartConfirmation).Err(); err != nil {
		return nil, fmt.Errorf("set stop rule of %s: %w", accountID, err)
	}
	return &r, nil
}
