package main

// cliBillingCommands are this area's CLI commands (filled in by its issue work).
func cliBillingCommands() map[string]command { return nil }
