package router

import (
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// Messages the gateway sends on its own (Stop confirmations, auto-replies,
// SMS forwards) carry a Sender starting with AutoSenderPrefix. The marking
// lives here, beside Inbound, because Inbound follows an auto-reply back to
// the staff message that started the conversation (staffMessage), and the
// hook packages (router/stoprule, router/automation) mark what they send.

// AutoSenderPrefix starts the Sender of every message the gateway sends on
// its own ("auto:<rule id>", "auto:stop", ...).
const AutoSenderPrefix = "auto:"

// IsAutoSender reports whether a message's sender marks it as automatic.
func IsAutoSender(sender string) bool { return strings.HasPrefix(sender, AutoSenderPrefix) }

// autoReplyMailPrefix starts the MailID of an auto-reply; the reply id follows.
const autoReplyMailPrefix = "auto-reply."

// AutoReplyMailID is the MailID of the auto-reply answering reply id.
func AutoReplyMailID(replyID string) string { return autoReplyMailPrefix + replyID }

// answeredReply returns the id of the reply an auto-reply answered, if m is one.
func answeredReply(m *accounts.Message) (string, bool) {
	if m == nil || !IsAutoSender(m.Sender) {
		return "", false
	}
	return strings.CutPrefix(m.MailID, autoReplyMailPrefix)
}
