package messages

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/smsgate/smsgate/accounts"
)

// Read delivers up to count new entries to consumer, waiting up to block
// when there are none (block <= 0: do not wait). No entries is an empty
// result, not an error.
//
// With one shard it is one XREADGROUP. With several, every shard is read
// concurrently: each keeps one blocking XREADGROUP in flight for consumer
// (on a Redis Cluster each goes to its shard's master), and Read returns as
// soon as any shard has entries, with whatever the others have by then. A
// read still blocked on an idle shard when Read returns is left running and
// its entries are handed out by a later Read: a read is never abandoned,
// because Redis may already have given its entries to the consumer.
func (s *Store) Read(ctx context.Context, consumer string, count int, block time.Duration) ([]accounts.Entry, error) {
	if count <= 0 {
		count = 1
	}
	if s.Keys.Shards == 1 {
		return s.queueRead(ctx, consumer, count, block, 0)
	}
	return s.readers.get(consumer, s.Keys.Shards).read(ctx, s, consumer, count, block)
}

// readers are the shard readers of the consumers of this store (an instance
// has one consumer, tests several).
type readers struct {
	mu sync.Mutex
	by map[string]*shardReader
}

func (r *readers) get(consumer string, shards int) *shardReader {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = map[string]*shardReader{}
	}
	sr := r.by[consumer]
	if sr == nil {
		sr = &shardReader{inflight: make([]bool, shards), results: make(chan shardRead, shards)}
		r.by[consumer] = sr
	}
	return sr
}

// shardReader keeps at most one read in flight per shard for one consumer;
// their results wait in results (room for one per shard, so a finished read
// never blocks) and entries beyond a Read's count in buf.
type shardReader struct {
	mu       sync.Mutex // one Read at a time
	inflight []bool
	results  chan shardRead
	buf      []accounts.Entry
}

type shardRead struct {
	shard   int
	entries []accounts.Entry
	err     error
}

func (r *shardReader) read(ctx context.Context, s *Store, consumer string, count int, block time.Duration) ([]accounts.Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	take := func(res shardRead) {
		r.inflight[res.shard] = false
		r.buf = append(r.buf, res.entries...)
		if res.err != nil {
			errs = append(errs, res.err)
		}
	}
	drain := func() {
		for {
			select {
			case res := <-r.results:
				take(res)
			default:
				return
			}
		}
	}
	// start sends a read to every shard that has none in flight. Reads run
	// without ctx's cancellation: they end by themselves within block.
	start := func() {
		if ctx.Err() != nil {
			return
		}
		rctx := context.WithoutCancel(ctx)
		for shard, busy := range r.inflight {
			if busy {
				continue
			}
			r.inflight[shard] = true
			go func() {
				es, err := s.queueRead(rctx, consumer, count, block, shard)
				r.results <- shardRead{shard: shard, entries: es, err: err}
			}()
		}
	}
	out := func() ([]accounts.Entry, error) {
		n := min(count, len(r.buf))
		// The members of a grouped entry go out together.
		for n > 0 && n < len(r.buf) && r.buf[n].SameStreamEntry(r.buf[n-1]) {
			n++
		}
		es := append([]accounts.Entry(nil), r.buf[:n]...)
		r.buf = append(r.buf[:0], r.buf[n:]...)
		if len(es) == 0 && len(errs) > 0 {
			return nil, fmt.Errorf("read queue: %w", errs[0])
		}
		return es, nil
	}

	drain()
	if len(r.buf) > 0 || len(errs) > 0 {
		return out()
	}
	start()
	var timeout <-chan time.Time
	if block > 0 {
		t := time.NewTimer(block)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case res := <-r.results:
			take(res)
			drain()
			if block <= 0 { // a poll: every shard once
				if !r.anyInflight() {
					return out()
				}
				continue
			}
			if len(r.buf) > 0 || len(errs) > 0 {
				return out()
			}
			start() // the shards that came back empty block again
		case <-timeout:
			return out()
		case <-ctx.Done():
			return nil, fmt.Errorf("read queue: %w", ctx.Err())
		}
	}
}

func (r *shardReader) anyInflight() bool {
	for _, b := range r.inflight {
		if b {
			return true
		}
	}
	return false
}
