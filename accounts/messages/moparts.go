package messages

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

// Concatenated replies. A long reply from a phone comes as several
// deliver_sm, possibly over different binds, links and instances. Each part
// is kept in Redis (AddMOPart) until the last one comes, then the reply is
// delivered once, from the raw parts joined in order. One that stays
// incomplete is taken after a wait (TakeIncompleteMO) and delivered with
// what came. Each part is acknowledged to the carrier only once stored.

var (
	//go:embed lua/mo_part.lua
	moPartLua    string
	moPartScript = store.NewScript("messages/mo_part.lua", moPartLua)
	//go:embed lua/mo_take.lua
	moTakeLua    string
	moTakeScript = store.NewScript("messages/mo_take.lua", moTakeLua)
)

// AddMOPart stores part p (ttl bounds how long parts are kept) and returns
// the whole reply when p completed it, nil otherwise (more to come, or a
// duplicate of a part or of a reply already delivered).
func (s *Store) AddMOPart(ctx context.Context, p accounts.MOPart, ttl time.Duration) (*accounts.MOAssembly, error) {
	keys := []string{s.Keys.MOParts(p.From, p.To, p.Ref, p.Total), s.Keys.MODone(p.From, p.To, p.Ref, p.Total)}
	now := s.Now()
	res, err := s.Run(ctx, moPartScript, keys, p.Seq, string(p.Body), p.Coding, p.Total, ttl.Milliseconds(), now.UnixMilli()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("store reply part: %w", err)
	}
	member := moMember(p.From, p.To, p.Ref, p.Total)
	switch {
	case len(res) > 0 && res[0] == "stored":
		if err := s.RDB.ZAddNX(ctx, s.Keys.MOIndex(), redis.Z{Score: float64(now.UnixMilli()), Member: member}).Err(); err != nil {
			return nil, fmt.Errorf("index reply part: %w", err)
		}
		return nil, nil
	case len(res) > 0 && res[0] == "complete":
		_ = s.RDB.ZRem(ctx, s.Keys.MOIndex(), member).Err() // a stale entry is skipped by the sweep
		return moAssembly(p.From, p.To, p.Ref, p.Total, pairs(res[1:])), nil
	}
	return nil, nil
}

// TakeIncompleteMO takes, up to limit, the concatenated replies whose first
// part came before before and that are still incomplete, for delivery with
// what came.
func (s *Store) TakeIncompleteMO(ctx context.Context, before time.Time, limit int, ttl time.Duration) ([]*accounts.MOAssembly, error) {
	members, err := s.RDB.ZRangeByScore(ctx, s.Keys.MOIndex(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(before.UnixMilli(), 10), Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("incomplete replies: %w", err)
	}
	var out []*accounts.MOAssembly
	for _, m := range members {
		from, to, ref, total, ok := parseMOMember(m)
		if ok {
			keys := []string{s.Keys.MOParts(from, to, ref, total), s.Keys.MODone(from, to, ref, total)}
			res, err := s.Run(ctx, moTakeScript, keys, ttl.Milliseconds()).StringSlice()
			if err != nil && !errors.Is(err, redis.Nil) {
				return out, fmt.Errorf("take incomplete reply: %w", err)
			}
			if len(res) > 0 {
				out = append(out, moAssembly(from, to, ref, total, pairs(res)))
			}
		}
		if err := s.RDB.ZRem(ctx, s.Keys.MOIndex(), m).Err(); err != nil {
			return out, fmt.Errorf("incomplete replies: %w", err)
		}
	}
	return out, nil
}

func pairs(kv []string) map[string]string {
	h := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

func moAssembly(from, to string, ref uint16, total int, h map[string]string) *accounts.MOAssembly {
	a := &accounts.MOAssembly{From: from, To: to, Ref: ref, Total: total, Parts: map[int][]byte{}}
	c, _ := strconv.Atoi(h["c"])
	a.Coding = uint8(c)
	a.FirstAt = msgTime(h["first"])
	for k, v := range h {
		if seq, ok := strings.CutPrefix(k, "p"); ok {
			if n, err := strconv.Atoi(seq); err == nil {
				a.Parts[n] = []byte(v)
			}
		}
	}
	return a
}

func moMember(from, to string, ref uint16, total int) string {
	return strings.Join([]string{from, to, strconv.Itoa(int(ref)), strconv.Itoa(total)}, "\x1f")
}

func parseMOMember(m string) (from, to string, ref uint16, total int, ok bool) {
	f := strings.Split(m, "\x1f")
	if len(f) != 4 {
		return "", "", 0, 0, false
	}
	r, err1 := strconv.Atoi(f[2])
	t, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || r < 0 || r > 0xFFFF {
		return "", "", 0, 0, false
	}
	return f[0], f[1], uint16(r), t, true
}
