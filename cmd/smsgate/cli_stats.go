package main

// cliStatsCommands are this area's CLI commands (filled in by its issue work).
func cliStatsCommands() map[string]command { return nil }
