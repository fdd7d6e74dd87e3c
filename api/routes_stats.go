package api

// statsRoutes are the routes of this area (filled in by its issue work).
func (s *server) statsRoutes() []route { return nil }

// statsStore is what this area needs of the account store.
type statsStore interface{}
