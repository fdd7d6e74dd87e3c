package main

// cliPermissionCommands are this area's CLI commands (filled in by its issue work).
func cliPermissionCommands() map[string]command { return nil }
