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

// ReplyHook acts on a reply once it is stored in the inbox (r.AccountID
// Empty: unrouted; orig nil: no conversation). Returning true claims the
// reply: later hooks, the reply event and the reply mail are skipped. Hooks
// handle and log their own errors: the reply is already safe.
type ReplyHook interface {
	OnReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) (claimed bool)
}

// StatusHook acts on a message that has reached a final status (delivered,
// undeliverable, expired, rejected, failed), after the store recorded it.
type StatusHook interface {
	OnStatus(ctx context.Context, m *accounts.Message)
}

// StatusInterest is implemented by a StatusHook or Events that can tell,
// from a message's id, account, sender and new status alone, that its
// final status is of no concern to it (an account without webhooks, a
// sender without a receipt notice rule). A receipt's message is read in
// full only for those that may be concerned; a hook or Events without the
// method always is.
type StatusInterest interface {
	WantsStatus(ctx context.Context, m *accounts.Message) bool
}

// WantsStatus reports whether v (a StatusHook or Events) may act on m:
// what its StatusInterest says, or yes without one.
func WantsStatus(ctx context.Context, v any, m *accounts.Message) bool {
	si, ok := v.(StatusInterest)
	return !ok || si.WantsStatus(ctx, m)
}
