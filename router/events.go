package router

import (
	"context"

	"github.com/smsgate/smsgate/accounts"
)

// Events receives what accounts may subscribe to (webhooks): a message
// reaching a final status, a reply routed to an inbox, a balance falling
// below its threshold. Implementations must be quick and must not block on
// the network: they enqueue. Errors are logged and counted, never returned to
// carriers or mail clients: the state change itself is already stored.
type Events interface {
	MessageStatus(ctx context.Context, m *accounts.Message) error
	Reply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) error
	LowBalance(ctx context.Context, acct *accounts.Account) error
}

// final reports whether a message status is final.
func final(s accounts.MessageStatus) bool {
	switch s {
	case accounts.MsgDelivered, accounts.MsgUndeliverable, accounts.MsgExpired, accounts.MsgRejected, accounts.MsgFailed:
		return true
	}
	return false
}
