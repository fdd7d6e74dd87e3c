package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a master and its replicas on loopback TCP ports, watched by
// three sentinels that fail over within a second or two of the master's
// going (down-after 1000 ms).
type Sentinel struct {
	Name       string    // the master's name for the sentinels
	Master     *Server   // the first master, as started
	Replicas   []*Server // its replicas, as started
	MasterAddr string    // host:port of the first master
	Addrs      []string  // host:port of each sentinel
}

// StartSentinel starts the master, replicas replicas of it and three
// sentinels, and returns once the replicas are in sync and every sentinel
// knows them (so that a failover can promote one). With two or more, one
// is left to replicate the promoted one. Everything is stopped in
// t.Cleanup.
func StartSentinel(t testing.TB, name string, replicas int) *Sentinel {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH (%v): install it with `apt-get install redis-server`", err)
	}
	mport := FreePort(t)
	s := &Sentinel{Name: name, MasterAddr: "127.0.0.1:" + strconv.Itoa(mport)}
	s.Master = StartServer(t, Options{Port: mport, AOF: true, Args: []string{"--repl-diskless-sync-delay", "0"}})
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	var rports []string
	for range replicas {
		rport := FreePort(t)
		r := StartServer(t, Options{Port: rport, AOF: true, Args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(mport)}})
		s.Replicas = append(s.Replicas, r)
		rports = append(rports, strconv.Itoa(rport))
		rc := r.Client(t)
		for !strings.Contains(rc.Info(ctx, "replication").Val(), "master_link_status:up") {
			if time.Now().After(deadline) {
				t.Fatalf("redistest: replica %d never synced with its master", len(rports))
			}
			time.Sleep(20 * time.Millisecond) // replication has no event to wait on
		}
	}
	for i := range 3 {
		port := FreePort(t)
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\nsentinel parallel-syncs %s 1\n",
			port, dir, name, mport, name, name, name)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, conf, "--sentinel")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("redistest: start sentinel %d: %v", i, err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		s.Addrs = append(s.Addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	// Ready when every sentinel lists every replica: only then can one be
	// promoted. Sentinels learn them from the master's INFO at their first
	// look, then every ten seconds.
	for _, a := range s.Addrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a})
		for {
			reps, err := sc.Replicas(ctx, name).Result()
			known := 0
			for _, p := range rports {
				if strings.Contains(fmt.Sprint(reps), p) {
					known++
				}
			}
			if err == nil && known == len(rports) {
				break
			}
			if time.Now().After(deadline) {
				sc.Close()
				t.Fatalf("redistest: sentinel %s never learned of the replica: %v %v", a, reps, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		sc.Close()
	}
	return s
}

// CurrentMaster is the master's address as the first sentinel names it.
func (s *Sentinel) CurrentMaster(ctx context.Context) (string, error) {
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addrs[0]})
	defer sc.Close()
	hp, err := sc.GetMasterAddrByName(ctx, s.Name).Result()
	if err != nil {
		return "", err
	}
	return hp[0] + ":" + hp[1], nil
}
