package api

// webhookRoutes are the routes of this area (filled in by its issue work).
func (s *server) webhookRoutes() []route { return nil }
