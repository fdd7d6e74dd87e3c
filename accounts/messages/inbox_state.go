package messages

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/inbox_state.lua
	inboxStateLua    string
	inboxStateScript = store.NewScript("messages/inbox_state.lua", inboxStateLua)
)

// SetReplyState changes the inbox state of reply id in one atomic step and
// returns the reply as stored. Marking a reply read (or archived) that
// already is keeps the first time. ErrNotFound if there is no such reply;
// ErrInvalid if the change names neither field.
func (s *Store) SetReplyState(ctx context.Context, id string, ch accounts.ReplyStateChange) (*accounts.Reply, error) {
	if ch.Read == nil && ch.Archived == nil {
		return nil, fmt.Errorf("%w: give read, archived or both", accounts.ErrInvalid)
	}
	shard, err := s.ShardFromID(id)
	if err != nil || id[0] != 'r' { // shardFromID refuses ids shorter than 2
		return nil, fmt.Errorf("reply %q: %w", id, accounts.ErrNotFound)
	}
	arg := func(b *bool) string {
		switch {
		case b == nil:
			return ""
		case *b:
			return "1"
		}
		return "0"
	}
	res, err := s.Run(ctx, inboxStateScript, []string{s.Keys.Reply(shard, id)},
		s.Now().UnixMilli(), arg(ch.Read), arg(ch.Archived)).StringSlice()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, fmt.Errorf("reply %s: %w", id, accounts.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("set state of reply %s: %w", id, err)
	}
	h := make(map[string]string, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		h[res[i]] = res[i+1]
	}
	return inboxFromHash(h), nil
}
