package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a running Redis Cluster of masters on loopback TCP ports, each
// owning an equal range of the 16384 hash slots, without replicas.
type Cluster struct {
	Addrs   []string // host:port of every master, usable as smsgate's redis.cluster.addrs
	Servers []*Server
}

// StartCluster starts masters redis-server processes in cluster mode, gives
// each an equal share of the slots, introduces them to each other and waits
// until every node reports cluster_state:ok and knows all the others. The
// servers are stopped in t.Cleanup. Like StartServer it fails the test (it
// never skips) when redis-server is missing.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 1 {
		t.Fatalf("redistest: a cluster needs at least one master (got %d)", masters)
	}
	c := &Cluster{}
	for range masters {
		s, addr := startNode(t)
		c.Servers = append(c.Servers, s)
		c.Addrs = append(c.Addrs, addr)
	}
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	nodes := make([]*redis.Client, masters)
	for i, s := range c.Servers {
		nodes[i] = s.Client(t)
		lo, hi := i*16384/masters, (i+1)*16384/masters-1
		if err := nodes[i].ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			t.Fatalf("redistest: cluster node %d: ADDSLOTSRANGE %d %d: %v", i, lo, hi, err)
		}
	}
	for i := 1; i < masters; i++ {
		// The bus port is named: it is not port+10000 here.
		host, port, _ := net.SplitHostPort(c.Addrs[i])
		if err := nodes[0].Do(ctx, "cluster", "meet", host, port, c.Servers[i].bus).Err(); err != nil {
			t.Fatalf("redistest: CLUSTER MEET %s: %v", c.Addrs[i], err)
		}
	}
	want := fmt.Sprintf("cluster_known_nodes:%d", masters)
	for i, n := range nodes {
		for {
			info, err := n.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, want) &&
				strings.Contains(info, "cluster_slots_ok:16384") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster node %d not ready within 30s (%v): %s", i, err, info)
			}
			time.Sleep(20 * time.Millisecond) // gossip has no event to wait on
		}
	}
	return c
}

// Client returns a cluster client for c, closed in t.Cleanup.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// startNode starts one redis-server in cluster mode on free loopback
// ports (its bus port named) and returns it with its host:port.
func startNode(t testing.TB) (*Server, string) {
	t.Helper()
	port, bus := FreePort(t), FreePort(t)
	s := StartServer(t, Options{Port: port, Args: []string{
		"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
		"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
	}})
	s.bus = bus
	return s, "127.0.0.1:" + strconv.Itoa(port)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// AddReplica starts one more cluster node, makes it a replica of master i
// (CLUSTER REPLICATE) and waits until its replication link is up and the
// master counts it. Stopped in t.Cleanup.
func (c *Cluster) AddReplica(t testing.TB, i int) *Server {
	t.Helper()
	ctx := context.Background()
	s, _ := startNode(t)
	rc, mc := s.Client(t), c.Servers[i].Client(t)
	masterID, err := mc.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatalf("redistest: CLUSTER MYID of master %d: %v", i, err)
	}
	host, mport, _ := net.SplitHostPort(c.Addrs[i])
	if err := rc.Do(ctx, "cluster", "meet", host, mport, c.Servers[i].bus).Err(); err != nil {
		t.Fatalf("redistest: CLUSTER MEET from the replica: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// REPLICATE needs the master known to the new node first.
		err := rc.ClusterReplicate(ctx, masterID).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: CLUSTER REPLICATE %s: %v", masterID, err)
		}
		time.Sleep(20 * time.Millisecond) // gossip has no event to wait on
	}
	for {
		info := rc.Info(ctx, "replication").Val()
		if strings.Contains(info, "master_link_status:up") &&
			strings.Contains(mc.Info(ctx, "replication").Val(), "connected_slaves:1") {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: the replica of master %d never synced: %s", i, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// MoveSlot migrates hash slot `slot` from master `from` to master `to` the
// way redis-cli --cluster reshard does (SETSLOT IMPORTING and MIGRATING,
// MIGRATE of its keys in batches, SETSLOT NODE on every master), waiting
// pause between batches so that clients meet the slot half-moved (ASK
// redirections, TRYAGAIN for multi-key commands).
func (c *Cluster) MoveSlot(t testing.TB, slot, from, to int, batch int, pause time.Duration) {
	t.Helper()
	ctx := context.Background()
	src, dst := c.Servers[from].Client(t), c.Servers[to].Client(t)
	srcID, err := src.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	dstID, err := dst.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("redistest: move slot %d: %v", slot, err)
		}
	}
	must(dst.Do(ctx, "cluster", "setslot", slot, "importing", srcID).Err())
	must(src.Do(ctx, "cluster", "setslot", slot, "migrating", dstID).Err())
	host, port, _ := net.SplitHostPort(c.Addrs[to])
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, slot, batch).Result()
		must(err)
		if len(keys) == 0 {
			break
		}
		args := []any{"migrate", host, port, "", 0, 5000, "keys"}
		for _, k := range keys {
			args = append(args, k)
		}
		must(src.Do(ctx, args...).Err())
		time.Sleep(pause) // the half-moved window, on purpose
	}
	for _, s := range c.Servers {
		if err := s.Client(t).Do(ctx, "cluster", "setslot", slot, "node", dstID).Err(); err != nil &&
			!strings.Contains(err.Error(), "not a master") {
			t.Fatalf("redistest: SETSLOT %d NODE on %s: %v", slot, s, err)
		}
	}
}

// MasterOf returns the index in Servers of the master serving key.
func (c *Cluster) MasterOf(t testing.TB, key string) int {
	t.Helper()
	ctx := context.Background()
	slot, err := c.Servers[0].Client(t).ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Servers {
		lo, hi := i*16384/len(c.Servers), (i+1)*16384/len(c.Servers)-1
		if int(slot) >= lo && int(slot) <= hi {
			return i
		}
	}
	t.Fatalf("redistest: slot %d of %s has no master", slot, key)
	return -1
}
