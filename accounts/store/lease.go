package store

import (
	"context"
	_ "embed"
	"fmt"
	"time"
)

var (
	//go:embed lua/lease.lua
	leaseLua    string
	leaseScript = NewScript("store/lease.lua", leaseLua)
)

// Lease takes the deployment-wide lease name for holder, or renews it if
// holder has it, for ttl; it reports whether holder has it now. A job that
// must run once per deployment (housekeeping) runs only while its instance
// holds the lease and renews it more often than ttl; when that instance
// ends, another takes the lease once ttl has passed.
func (s *DB) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	n, err := s.Run(ctx, leaseScript, []string{s.Keys.Lease(name)}, holder, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return n == 1, nil
}
