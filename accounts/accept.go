package accounts

import (
	"context"
	"crypto/sha256"
	_ "embed" // Lua scripts
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts of the message path. Each runs on the keys of one shard
// only, so they work unchanged on a Redis Cluster. The *redis.Script values
// are immutable after construction (the SHA-1 is computed here, client side).
var (
	//go:embed lua/accept.lua
	acceptLua string
	//go:embed lua/submit.lua
	acceptSubmitLua string
	//go:embed lua/promote.lua
	acceptPromoteLua string
	//go:embed lua/fail.lua
	acceptFailLua string
	//go:embed lua/receipt.lua
	acceptReceiptLua string

	acceptScript        = redis.NewScript(acceptLua)
	acceptSubmitScript  = redis.NewScript(acceptSubmitLua)
	acceptPromoteScript = redis.NewScript(acceptPromoteLua)
	acceptFailScript    = redis.NewScript(acceptFailLua)
	acceptReceiptScript = redis.NewScript(acceptReceiptLua)
)

// AcceptRequest is one atomic acceptance: the messages of one email to one
// or more recipients, all charged to one account.
type AcceptRequest struct {
	AccountID string
	// IdempotencyKey names the request, e.g. sender + Message-ID; a replay
	// within 24 hours returns the first ids and charges nothing. Empty means
	// no idempotency.
	IdempotencyKey string
	// Messages carry To, Text, Coding, Parts, Price, Sender, MailID and
	// Source, set by the caller. On success Accept fills in ID, AccountID,
	// Status and CreatedAt.
	Messages []*Message
}

// AcceptResult says what Accept did.
type AcceptResult struct {
	IDs       []string // message ids, in request order
	Duplicate bool     // the idempotency key was seen: nothing was charged or queued
	Balance   int64    // the account's balance afterwards
}

// Accept debits the account by the sum of the messages' prices and stores
// and enqueues every message, all in one Lua script: either everything is
// written or nothing is. It returns ErrNotFound for an unknown account,
// ErrDeactivated when it or its parent is deactivated, and a *BalanceError (which matches
// ErrInsufficientBalance) when the balance does not cover the total.
func (s *Store) Accept(ctx context.Context, req AcceptRequest) (*AcceptResult, error) {
	if len(req.Messages) == 0 {
		return nil, fmt.Errorf("accept for %s: no messages: %w", req.AccountID, ErrInvalid)
	}
	shard, err := s.shardFromID(req.AccountID)
	if err != nil {
		return nil, fmt.Errorf("accept: account %w", err)
	}
	n := len(req.Messages)
	keys := make([]string, 5, 5+n)
	keys[0] = s.skey(shard, "acct", req.AccountID)
	keys[1] = s.skey(shard, "ledger", req.AccountID)
	keys[2] = s.skey(shard, "msgs", req.AccountID)
	keys[3] = s.skey(shard, "queue")
	idem := "0"
	keys[4] = keys[0] // unused placeholder; keeps KEYS positions fixed
	if req.IdempotencyKey != "" {
		idem = "1"
		sum := sha256.Sum256([]byte(req.IdempotencyKey))
		keys[4] = s.skey(shard, "idem", req.AccountID, hex.EncodeToString(sum[:]))
	}
	now := time.UnixMilli(s.now().UnixMilli())
	nowMS := strconv.FormatInt(now.UnixMilli(), 10)
	args := make([]any, 0, 5+9*n)
	args = append(args, nowMS, n, idem, req.AccountID, s.skey(shard, "acct", ""))
	ids := make([]string, n)
	for i, m := range req.Messages {
		if m.Price < 0 || m.Parts < 0 {
			return nil, fmt.Errorf("accept for %s: negative price or parts: %w", req.AccountID, ErrInvalid)
		}
		ids[i] = newShardedID("m", shard)
		keys = append(keys, s.skey(shard, "msg", ids[i]))
		args = append(args, ids[i], m.Sender, m.MailID, m.Source, m.To, m.Text,
			int(m.Coding), m.Parts, m.Price)
	}
	res, err := acceptScript.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("accept for %s: %w", req.AccountID, err)
	}
	kind, _ := res[0].(string)
	switch kind {
	case "ok":
		for i, m := range req.Messages {
			m.ID, m.AccountID, m.Status, m.CreatedAt = ids[i], req.AccountID, MsgQueued, now
		}
		return &AcceptResult{IDs: ids, Balance: acceptInt(res, 1)}, nil
	case "dup":
		prev, _ := res[1].(string)
		return &AcceptResult{IDs: strings.Split(prev, ","), Duplicate: true, Balance: acceptInt(res, 2)}, nil
	case "bal":
		var need int64
		for _, m := range req.Messages {
			need += m.Price
		}
		cur, _ := res[2].(string)
		return nil, fmt.Errorf("accept for %s: %w", req.AccountID,
			&BalanceError{Need: need, Have: acceptInt(res, 1), Currency: cur})
	case "nf":
		return nil, fmt.Errorf("accept: account %s: %w", req.AccountID, ErrNotFound)
	case "deact":
		return nil, fmt.Errorf("accept: account %s: %w", req.AccountID, ErrDeactivated)
	}
	return nil, fmt.Errorf("accept for %s: unexpected script reply %v", req.AccountID, res)
}

// acceptInt returns element i of a script reply as an integer.
func acceptInt(res []any, i int) int64 {
	if i >= len(res) {
		return 0
	}
	switch v := res[i].(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// acceptIsNoScript reports whether err is Redis's NOSCRIPT (script cache
// empty, e.g. after a restart or SCRIPT FLUSH).
func acceptIsNoScript(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "NOSCRIPT")
}
