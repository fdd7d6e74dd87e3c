package main

// cliWebhookCommands are this area's CLI commands (filled in by its issue work).
func cliWebhookCommands() map[string]command { return nil }
