package store

// MsgKey returns the hash key of message id, or ErrNotFound for an id that
// names no shard of this store.
func (s *DB) MsgKey(id string) (string, int, error) {
	shard, err := s.ShardFromID(id)
	if err != nil {
		return "", 0, err
	}
	return s.Keys.Message(shard, id), shard, nil
}
