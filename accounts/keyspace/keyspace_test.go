package keyspace_test

import (
	"testing"

	"github.com/smsgate/smsgate/accounts/keyspace"
)

// TestNames pins representative key names byte for byte: they are stored
// data, and a change would strand what existing deployments wrote.
func TestNames(t *testing.T) {
	k := keyspace.Space{Prefix: "smsgate", Shards: 4}
	cases := []struct{ got, want string }{
		{k.Account(3, "a3-xyz"), "smsgate:{s3}:acct:a3-xyz"},
		{k.DeletedSubs(0, "a0-p"), "smsgate:{s0}:subs_deleted:a0-p"},
		{k.Ledger(1, "a1-x"), "smsgate:{s1}:ledger:a1-x"},
		{k.Queue(2), "smsgate:{s2}:queue"},
		{k.Retry(0), "smsgate:{s0}:retry"},
		{k.Message(0, "m0-abc"), "smsgate:{s0}:msg:m0-abc"},
		{k.MessageLog(0, "a0-x"), "smsgate:{s0}:msgs:a0-x"},
		{k.Idempotency(0, "a0-x", "beef"), "smsgate:{s0}:idem:a0-x:beef"},
		{k.Stats(1, "a1-x", 20000), "smsgate:{s1}:stats:a1-x:20000"},
		{k.LimitMinute(1, "a1-x", 29000000), "smsgate:{s1}:limm:a1-x:29000000"},
		{k.LimitDay(1, "a1-x", 20000), "smsgate:{s1}:limd:a1-x:20000"},
		{k.OptOut(0, "a0-x"), "smsgate:{s0}:optout:a0-x"},
		{k.Blocked(0, "a0-x"), "smsgate:{s0}:blocked:a0-x"},
		{k.UserAPIKeys(0, "a0-x", "u1"), "smsgate:{s0}:ukeys:a0-x:u1"},
		{k.AutomationWindow(0, "au_a", "614"), "smsgate:{s0}:autoonce:au_a:614"},
		{k.AutomationHour(0, "a0-x", 7), "smsgate:{s0}:autocap:a0-x:7"},
		{k.Invitation(0, "-"), "smsgate:{s0}:inv:-"},
		{k.AllAccounts(), "smsgate:accounts"},
		{k.Bootstrap(), "smsgate:bootstrap"},
		{k.Number("61400000000"), "smsgate:number:61400000000"},
		{k.Registration("domain", "example.com"), "smsgate:domain:example.com"},
		{k.Registration("addr", "a@example.com"), "smsgate:addr:a@example.com"},
		{k.UserByEmail("a@example.com"), "smsgate:user:email:a@example.com"},
		{k.UserAccounts("u1"), "smsgate:user:accts:u1"},
		{k.LoginFailures("a@example.com"), "smsgate:login:fail:a@example.com"},
		{k.APIKey("k1"), "smsgate:key:k1"},
		{k.Conversation("614", "615"), "smsgate:conv:614:615"},
		{k.SMSCMessage("l1", "x9"), "smsgate:smsc:l1:x9"},
		{k.Webhooks(0, "a0-x"), "smsgate:{s0}:wh:a0-x"},
		{k.WebhookLog(0, "w1"), "smsgate:{s0}:whlog:w1"},
		{k.WebhookQueue(0), "smsgate:{s0}:whq"},
		{k.WebhookDeliveries(0), "smsgate:{s0}:whd"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if got := (keyspace.Space{Prefix: "p"}).Contact(5, "c1"); got != "p:{s5}:contact:c1" {
		t.Errorf("prefix: got %q", got)
	}
}

func TestShardOf(t *testing.T) {
	cases := []struct {
		name string
		id   string
		want int
		ok   bool
	}{
		{"shard 0", "a0-3k9v8x", 0, true},
		{"shard 12", "m12-xyz", 12, true},
		{"no dash", "a0", 0, false},
		{"no number", "a-xyz", 0, false},
		{"sign", "a+1-xyz", 0, false},
		{"negative", "a-1-xyz", 0, false},
		{"letters", "ab-xyz", 0, false},
		{"space", "a 1-xyz", 0, false},
		{"empty", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := keyspace.ShardOf(c.id)
			if ok != c.ok || got != c.want {
				t.Fatalf("ShardOf(%q) = %d, %v; want %d, %v", c.id, got, ok, c.want, c.ok)
			}
		})
	}
	k := keyspace.Space{Prefix: "smsgate", Shards: 16}
	if n, ok := k.Shard("a15-x"); !ok || n != 15 {
		t.Fatalf("Shard(a15-x) = %d, %v", n, ok)
	}
	if _, ok := k.Shard("a16-x"); ok {
		t.Fatal("Shard(a16-x): a shard the deployment does not have")
	}
	if keyspace.Tag(3) != "{s3}" {
		t.Fatalf("Tag(3) = %q", keyspace.Tag(3))
	}
}
