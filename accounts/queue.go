package accounts

// Entry is one queue entry delivered to a consumer.
type Entry struct {
	Shard     int
	StreamID  string
	MessageID string
}

// Submitted is the outcome of a successful submission of one entry.
type Submitted struct {
	Entry   Entry
	Link    string   // carrier link name
	Source  string   // the source address used (for the conversation index)
	SMSCIDs []string // every part's id in each index form (e.g. smpp.IDVariants); the first is stored on the message
	To      string   // the recipient, for the conversation index; read from the message when empty
}
