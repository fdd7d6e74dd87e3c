package main

// cliUserCommands are this area's CLI commands (filled in by its issue work).
func cliUserCommands() map[string]command { return nil }
