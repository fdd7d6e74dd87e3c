package store

// MustShard returns the shard of an id already known to be valid.
func (s *DB) MustShard(id string) int {
	n, _ := s.ShardFromID(id)
	return n
}
