package accounts

import (
	"fmt"
	"strconv"
	"strings"
)

// ShardOf returns the shard named by a sharded id ("a3-..." is an account
// of shard 3; see newShardedID), so that other packages can keep their keys
// of an account tree under the same hash tag (ShardTag). It does not know
// the deployment's shard count: callers check the upper bound. A malformed
// id wraps ErrNotFound.
func ShardOf(id string) (int, error) {
	i := strings.IndexByte(id, '-')
	if i < 2 {
		return 0, fmt.Errorf("id %q: %w", id, ErrNotFound)
	}
	n, err := strconv.Atoi(id[1:i])
	if err != nil || n < 0 || id[1] == '+' {
		return 0, fmt.Errorf("id %q: %w", id, ErrNotFound)
	}
	return n, nil
}

// ShardTag is the Redis Cluster hash tag of a shard ("{s3}"): every key of
// one account tree contains it, whichever package owns the key.
func ShardTag(shard int) string { return "{s" + strconv.Itoa(shard) + "}" }
