package messages_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/internal/redistest"
)

// BenchmarkSubmitReceipts: b.N accepted messages recorded as submitted
// (MarkSubmitted) and then delivered (ApplyReceipts) in batches of 25, as
// the dispatcher and the receipt batcher do under load, and what each
// costs Redis a message: its CPU, and the time of the scripts (submit.lua,
// receipt.lua) and of the commands they run.
func BenchmarkSubmitReceipts(b *testing.B) {
	const batch = 25
	ctx := b.Context()
	s := redisstore.New(redistest.Start(b), redisstore.Options{Shards: 1})
	a := storetest.AcceptTestAccount(b, s, 1<<40)
	if err := s.EnsureGroups(ctx); err != nil {
		b.Fatal(err)
	}
	created := map[string]time.Time{} // by message id
	for i := 0; i < b.N; i += batch {
		var msgs []*accounts.Message
		for j := i; j < min(i+batch, b.N); j++ {
			msgs = append(msgs, storetest.AcceptTestMsg(fmt.Sprintf("614%08d", j), 1, 5))
		}
		if _, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: msgs,
			IdempotencyKey: "jo@acme.example <" + strconv.Itoa(i) + "@acme.example>"}); err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			created[m.ID] = m.CreatedAt
		}
	}
	var entries []accounts.Entry
	for len(entries) < b.N {
		es, err := s.Read(ctx, "w1", b.N-len(entries), 50*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		entries = append(entries, es...)
	}
	b.ResetTimer()
	s.RDB.ConfigResetStat(ctx)
	cpu0 := redisCPU(b, s)
	for i := 0; i < b.N; i += batch {
		var sub []accounts.Submitted
		for j := i; j < min(i+batch, b.N); j++ {
			sub = append(sub, accounts.Submitted{Entry: entries[j], Link: "carrier", Source: "61400000000",
				SMSCIDs: []string{strconv.Itoa(1000000 + j)}, To: fmt.Sprintf("614%08d", j), AccountID: a.ID, CreatedAt: created[entries[j].MessageID]})
		}
		if err := s.MarkSubmitted(ctx, sub); err != nil {
			b.Fatal(err)
		}
	}
	cpu1 := redisCPU(b, s)
	report(b, s, "submit", cpu1-cpu0)
	s.RDB.ConfigResetStat(ctx)
	for i := 0; i < b.N; i += batch {
		var ups []accounts.ReceiptUpdate
		for j := i; j < min(i+batch, b.N); j++ {
			ups = append(ups, accounts.ReceiptUpdate{Link: "carrier", CanonicalID: strconv.Itoa(1000000 + j),
				Status: string(accounts.MsgDelivered), At: time.Now()})
		}
		_, errs, err := s.ApplyReceipts(ctx, ups)
		if err != nil {
			b.Fatal(err)
		}
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	report(b, s, "receipt", redisCPU(b, s)-cpu1)
}

// report puts, as metrics of phase, Redis's CPU a message and the time of
// its scripts and of the commands run inside them a message.
func report(b *testing.B, s *redisstore.Store, phase string, cpu float64) {
	n := float64(b.N)
	b.ReportMetric(cpu*1e6/n, phase+"-redis-us/msg")
	var script, inner float64
	for name, st := range commandStats(b, s) {
		switch name {
		case "evalsha", "eval":
			script += st.usec
		case "hset", "hmget", "hdel", "xack", "xpending", "xtrim", "xinfo|groups", "sadd", "pexpire", "hincrby":
			inner += st.usec
		}
	}
	b.ReportMetric(script/n, phase+"-script-us/msg")
	b.ReportMetric(inner/n, phase+"-in-script-cmds-us/msg")
}
