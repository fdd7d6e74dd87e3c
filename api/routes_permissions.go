package api

// permissionRoutes are the routes of this area (filled in by its issue work).
func (s *server) permissionRoutes() []route { return nil }

// permissionStore is what this area needs of the account store.
type permissionStore interface{}
