package api

// billingRoutes are the routes of this area (filled in by its issue work).
func (s *server) billingRoutes() []route { return nil }

// billingStore is what this area needs of the account store.
type billingStore interface{}
