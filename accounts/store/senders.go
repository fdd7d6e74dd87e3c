package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
)

// NumberOwner returns the id of the account that holds a dedicated number
// (E.164 digits; a leading '+' is ignored), or "" if none does.
func (s *DB) NumberOwner(ctx context.Context, number string) (string, error) {
	owner, err := s.RDB.Get(ctx, s.Keys.Number(strings.TrimPrefix(number, "+"))).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("number owner: %w", err)
	}
	return owner, nil
}

// NumberInbox returns the account whose inbox gets a reply to our number to
// with no conversation: the holder of that dedicated number, if it still
// exists; "" otherwise.
func (s *DB) NumberInbox(ctx context.Context, to string) (string, error) {
	owner, err := s.NumberOwner(ctx, to)
	if err != nil || owner == "" {
		return "", err
	}
	if _, err := s.GetAccount(ctx, owner); errors.Is(err, accounts.ErrNotFound) {
		return "", nil // deleted: the reply goes to the unrouted inbox
	} else if err != nil {
		return "", err
	}
	return owner, nil
}
