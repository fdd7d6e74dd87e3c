package storetest

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/redistest"
)

// ran records the name of every script run by a store built with Guard in
// this test binary, for Main. It is the one package-level variable of the
// store packages: test support only, safe for concurrent use, and it only
// grows.
var ran sync.Map

// Guard returns opts with the key guard on (a script that touches a key
// missing from its KEYS fails, naming the script and the key) and every
// script run recorded for Main. Every store of the tests is built with it.
func Guard(opts redisstore.Options) redisstore.Options {
	opts.KeyGuard = true
	opts.OnScript = func(name string) { ran.Store(name, true) }
	return opts
}

// New returns a store over a fresh redis-server with opts under Guard. With
// SMSGATE_TEST_CLUSTER=1 in the environment it is a fresh three-master Redis
// Cluster instead (slower: run by hand, to try the store packages on a
// cluster; CI runs the end-to-end tests on one).
func New(t testing.TB, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	if os.Getenv("SMSGATE_TEST_CLUSTER") == "1" {
		return redisstore.New(redistest.StartCluster(t, 3).Client(t), Guard(opts))
	}
	return redisstore.New(redistest.Start(t), Guard(opts))
}

// Main runs a store package's tests (m.Run) and then, when they passed and
// ran unfiltered (no -run or -skip), fails if a script of the package (every
// lua/*.lua of its directory, named "<pkg>/<file>" as store.NewScript names
// it) did not run under Guard: each script must be exercised, under the
// guard, by its own package's tests. It returns the exit code.
func Main(m *testing.M, pkg string) int {
	code := m.Run()
	if code != 0 || filtered() {
		return code
	}
	files, err := fs.Glob(os.DirFS("lua"), "*.lua")
	if err != nil || len(files) == 0 {
		fmt.Fprintf(os.Stderr, "storetest: %s: no lua/*.lua (%v)\n", pkg, err)
		return 1
	}
	var missing []string
	for _, f := range files {
		if _, ok := ran.Load(pkg + "/" + f); !ok {
			missing = append(missing, pkg+"/"+f)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		fmt.Fprintf(os.Stderr, "FAIL: these scripts never ran under the key guard: %v\n", missing)
		return 1
	}
	return 0
}

// filtered reports whether the tests were selected with -run or -skip.
func filtered() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return true
		}
	}
	return false
}
