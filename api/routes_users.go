package api

// userRoutes are the routes of this area (filled in by its issue work).
func (s *server) userRoutes() []route { return nil }

// userStore is what this area needs of the account store.
type userStore interface{}
