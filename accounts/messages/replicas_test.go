package messages_test

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/storetest"
	"github.com/smsgate/smsgate/internal/redistest"
)

// TestAcceptWaitsForReplicas (issue 12): with MinReplicasAck an accept is
// confirmed only once a replica has it; with the replica gone the accept
// is not confirmed (ErrNotReplicated: the SMTP client gets 451 and its
// retry is recognised by the Message-ID's idempotency key), while a
// refusal stays a refusal.
func TestAcceptWaitsForReplicas(t *testing.T) {
	rdb, replica := startReplicated(t)
	ctx := t.Context()
	s := redisstore.New(rdb, storetest.Guard(redisstore.Options{MinReplicasAck: 1, ReplicaAckTimeout: 300 * time.Millisecond}))
	a := storetest.AcceptTestAccount(t, s, 100)
	send := func(key string) (*accounts.AcceptResult, error) {
		return s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, IdempotencyKey: key,
			Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
	}
	if _, err := send("<1@a.example>"); err != nil {
		t.Fatalf("with the replica up: %v", err)
	}
	replicaClient := redis.NewClient(&redis.Options{Network: "unix", Addr: replica.Socket})
	defer replicaClient.Close()
	if n := replicaClient.XLen(ctx, s.Keys.Queue(0)).Val(); n != 1 {
		t.Fatalf("the replica holds %d queue entries once the accept is confirmed, want 1", n)
	}
	replica.Stop()
	start := time.Now()
	_, err := send("<2@a.example>")
	if !errors.Is(err, accounts.ErrNotReplicated) {
		t.Fatalf("with the replica gone: %v, want ErrNotReplicated", err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("refused after %v, before the %v the replicas were given", waited, 300*time.Millisecond)
	}
	// The master has it: the retry (same Message-ID) is its replay, still
	// unconfirmed while no replica has it.
	if _, err := send("<2@a.example>"); !errors.Is(err, accounts.ErrNotReplicated) {
		t.Fatalf("the retry with the replica gone: %v, want ErrNotReplicated", err)
	}
	if n := rdb.XLen(ctx, s.Keys.Queue(0)).Val(); n != 2 {
		t.Fatalf("the master holds %d queue entries, want 2 (the retry queued nothing)", n)
	}
	// A refusal writes nothing: it is answered as such.
	big := storetest.AcceptTestMsg("61411111111", 100, 500)
	if _, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, Messages: []*accounts.Message{big}}); !errors.Is(err, accounts.ErrInsufficientBalance) {
		t.Fatalf("over the balance with the replica gone: %v, want the balance refusal", err)
	}
}

// TestAcceptWaitsForReplicasCluster: on a Redis Cluster the wait is for the
// replicas of the master that holds the account's shard. Master 0 has a
// replica and the others none: an account whose shard lives on master 0 is
// confirmed, one on another master is not (ErrNotReplicated), every time.
func TestAcceptWaitsForReplicasCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	c.AddReplica(t, 0)
	cc := c.Client(t)
	ctx := t.Context()
	// 1s: a loaded CI machine once took longer than 300ms for the
	// replica's acknowledgement of the first accept.
	s := redisstore.New(cc, storetest.Guard(redisstore.Options{Shards: 16, MinReplicasAck: 1,
		ReplicaAckTimeout: time.Second}))
	var onReplicated, onBare *accounts.Account
	for i := 0; i < 200 && (onReplicated == nil || onBare == nil); i++ {
		a := storetest.AcceptTestAccount(t, s, 100)
		shard, _ := s.ShardFromID(a.ID)
		m, err := cc.MasterForKey(ctx, s.Keys.Queue(shard))
		if err != nil {
			t.Fatal(err)
		}
		if m.Options().Addr == c.Addrs[0] {
			onReplicated = a
		} else {
			onBare = a
		}
	}
	if onReplicated == nil || onBare == nil {
		t.Fatal("no accounts on both kinds of master")
	}
	for i := range 5 {
		send := func(a *accounts.Account) error {
			_, err := s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, IdempotencyKey: "<" + strconv.Itoa(i) + "@" + a.ID + ">",
				Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
			return err
		}
		if err := send(onReplicated); err != nil {
			t.Fatalf("accept %d on the master with a replica: %v", i, err)
		}
		if err := send(onBare); !errors.Is(err, accounts.ErrNotReplicated) {
			t.Fatalf("accept %d on a master without replicas: %v, want ErrNotReplicated", i, err)
		}
	}
}

// TestAcceptNotConfirmedAcrossMasterChange: with MasterState set, an accept
// that a replica has is still not confirmed while the master is unsettled
// (a change announced lately) or when a change is announced while it is
// stored; the retry, once the master has settled, is confirmed as the
// first one's replay.
func TestAcceptNotConfirmedAcrossMasterChange(t *testing.T) {
	rdb, _ := startReplicated(t)
	ctx := t.Context()
	var changes atomic.Int64
	var settled atomic.Bool
	settled.Store(true)
	var calls atomic.Int64
	var bumpOnSecondLook atomic.Bool
	s := redisstore.New(rdb, storetest.Guard(redisstore.Options{MinReplicasAck: 1, ReplicaAckTimeout: time.Second,
		MasterState: func() (int64, bool) {
			if calls.Add(1)%2 == 0 && bumpOnSecondLook.Load() {
				changes.Add(1) // announced while the accept was being stored
			}
			return changes.Load(), settled.Load()
		}}))
	a := storetest.AcceptTestAccount(t, s, 100)
	send := func(key string) (*accounts.AcceptResult, error) {
		return s.Accept(ctx, accounts.AcceptRequest{AccountID: a.ID, IdempotencyKey: key,
			Messages: []*accounts.Message{storetest.AcceptTestMsg("61411111111", 1, 5)}})
	}
	if _, err := send("<1@a.example>"); err != nil {
		t.Fatalf("settled: %v", err)
	}
	settled.Store(false)
	if _, err := send("<2@a.example>"); !errors.Is(err, accounts.ErrNotReplicated) {
		t.Fatalf("unsettled: %v, want ErrNotReplicated", err)
	}
	settled.Store(true)
	bumpOnSecondLook.Store(true)
	if _, err := send("<3@a.example>"); !errors.Is(err, accounts.ErrNotReplicated) {
		t.Fatalf("a change announced while storing: %v, want ErrNotReplicated", err)
	}
	bumpOnSecondLook.Store(false)
	first, err := send("<2@a.example>")
	if err != nil {
		t.Fatalf("the retry once settled: %v", err)
	}
	if n := rdb.XLen(ctx, s.Keys.Queue(0)).Val(); n != 3 || len(first.IDs) != 1 {
		t.Fatalf("%d queue entries after three mails and a retry, want 3", n)
	}
}

// startReplicated starts a master and a replica in sync with it, and
// returns a client of the master and the replica.
func startReplicated(t *testing.T) (*redis.Client, *redistest.Server) {
	t.Helper()
	port := redistest.FreePort(t)
	master := redistest.StartServer(t, redistest.Options{Port: port})
	replica := redistest.StartServer(t, redistest.Options{Args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(port)}})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(replica.Client(t).Info(t.Context(), "replication").Val(), "master_link_status:up") {
		if time.Now().After(deadline) {
			t.Fatal("the replica never synced")
		}
		time.Sleep(20 * time.Millisecond) // polling a replication link nothing announces
	}
	return master.Client(t), replica
}
