package keyspace

import "testing"

// BenchmarkMessageKey: a shard-local key, built for every message several
// times over (one allocation).
func BenchmarkMessageKey(b *testing.B) {
	k := Space{Prefix: "smsgate", Shards: 16}
	b.ReportAllocs()
	for b.Loop() {
		_ = k.Message(11, "m11-yb1kpwtjnvpfkcph")
	}
}
