package smtp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smtp/exterr"
)

func TestToSMTPError(t *testing.T) {
	_, phoneErr := phone.Normalize("12", "AU")
	rc := replyContext{session: "s1d", sender: "bob@a.example", maxRcpt: 7, maxBytes: 1 << 20}
	tests := []struct {
		name     string
		err      error
		code     int
		enh      gosmtp.EnhancedCode
		text     string // the whole reply text
		reason   string
		internal bool
	}{
		{"unknown sender", fmt.Errorf("resolve: %w", accounts.ErrUnknownSender), 550, gosmtp.EnhancedCode{5, 7, 1},
			"sender <bob@a.example> is not registered for email to SMS", "unknown_sender", false},
		{"deactivated", accounts.ErrDeactivated, 550, gosmtp.EnhancedCode{5, 7, 1}, "account is deactivated", "deactivated", false},
		{"not replicated", fmt.Errorf("accept: %w", accounts.ErrNotReplicated), 451, gosmtp.EnhancedCode{4, 3, 0},
			"not yet stored safely (too few Redis replicas answered); try again later (session s1d)", "not_replicated", false},
		{"insufficient balance", fmt.Errorf("accept: %w", &accounts.BalanceError{Need: 30, Have: 12, Currency: "AUD"}),
			554, gosmtp.EnhancedCode{5, 7, 0}, (&accounts.BalanceError{Need: 30, Have: 12, Currency: "AUD"}).Error(), "insufficient_balance", false},
		{"per-minute limit", fmt.Errorf("accept: %w", &accounts.LimitError{Limit: accounts.LimitPerMinute, Max: 10, Used: 10, Want: 1, Sender: "bob@a.example", RetryAfter: 22500 * time.Millisecond}),
			451, gosmtp.EnhancedCode{4, 7, 1}, "sending limit reached: 10 messages per minute for sender bob@a.example (sent 10 this minute, this mail has 1); retry in 23s", "limit_per_minute", false},
		{"more recipients than the per-minute limit", fmt.Errorf("accept: %w", &accounts.LimitError{Limit: accounts.LimitPerMinute, Max: 3, Want: 5, Sender: "bob@a.example", RetryAfter: time.Second}),
			550, gosmtp.EnhancedCode{5, 7, 1}, "sending limit: this mail has 5 messages, more than the 3 messages per minute allowed for sender bob@a.example; split it into smaller mails", "limit_per_minute", false},
		{"daily parts limit", fmt.Errorf("accept: %w", &accounts.LimitError{Limit: accounts.LimitPartsPerDay, Max: 500, Used: 499, Want: 2, RetryAfter: 3 * time.Hour}),
			550, gosmtp.EnhancedCode{5, 7, 1}, "daily limit reached: 500 SMS parts per day (UTC) for the account (sent 499 today, this mail needs 2); resets in 3h0m0s", "limit_parts_per_day", false},
		{"daily spend cap", fmt.Errorf("accept: %w", &accounts.LimitError{Limit: accounts.LimitSpendPerDay, Max: 1000, Used: 990, Want: 16, Currency: "AUD", RetryAfter: time.Minute}),
			550, gosmtp.EnhancedCode{5, 7, 1}, "daily spend cap reached: 10.00 AUD per day (UTC) for the account (spent 9.90 AUD today, this mail costs 0.16 AUD); resets in 1m0s", "limit_spend_per_day", false},
		{"insufficient balance bare", accounts.ErrInsufficientBalance, 554, gosmtp.EnhancedCode{5, 7, 0}, "insufficient balance", "insufficient_balance", false},
		{"too long", fmt.Errorf("x: %w", exterr.Permanent(554, [3]int{5, 3, 4}, "too_long", &router.TooLongError{Parts: 11, Limit: 10})), 554, gosmtp.EnhancedCode{5, 3, 4},
			"message text needs 11 SMS parts, the account allows 10", "too_long", false},
		{"empty", fmt.Errorf("x: %w", exterr.New(554, [3]int{5, 6, 0}, "empty", "message has no text", router.ErrEmpty)), 554, gosmtp.EnhancedCode{5, 6, 0}, "message has no text", "empty", false},
		{"not permitted", fmt.Errorf("accept: %w", exterr.Permanent(550, [3]int{5, 7, 1}, "not_permitted", &router.PermissionError{Flag: "send_bulk", Reason: "send to several recipients"})), 550, gosmtp.EnhancedCode{5, 7, 1},
			"account may not send to several recipients (permission send_bulk)", "not_permitted", false},
		{"opted out", fmt.Errorf("accept mail: accept for a0-x: %w", &accounts.OptedOutError{Numbers: []string{"61412345678", "61499990000"}}),
			550, gosmtp.EnhancedCode{5, 7, 1}, "all recipients have opted out: *******5678, *******0000", "opted_out", false},
		{"opted out sentinel", accounts.ErrOptedOut, 550, gosmtp.EnhancedCode{5, 7, 1}, "all recipients have opted out", "opted_out", false},
		{"no route", exterr.Permanent(554, [3]int{5, 4, 4}, "no_route", router.ErrNoRoute), 554, gosmtp.EnhancedCode{5, 4, 4}, "no route to destination", "no_route", false},
		{"no template", fmt.Errorf("accept mail: %w", exterr.Permanent(554, [3]int{5, 6, 0}, "no_template", &router.TemplateError{Name: "reminder"})), 554, gosmtp.EnhancedCode{5, 6, 0},
			`no template named "reminder" in this account or its parent account`, "no_template", false},
		{"templates off", fmt.Errorf("accept mail: %w", exterr.Permanent(554, [3]int{5, 6, 0}, "no_template", &router.TemplateError{Name: "x", Off: true})), 554, gosmtp.EnhancedCode{5, 6, 0},
			`template "x" cannot be used: templates are not enabled on this gateway`, "no_template", false},
		{"invalid number", fmt.Errorf("rcpt: %w", phoneErr), 550, gosmtp.EnhancedCode{5, 1, 3},
			"invalid phone number: \"12\" is not a valid AU number (+61 12 is too short for AU); write it in international form: + then the country code and the number without its trunk 0, such as +61 412 345 678 (AU mobile)", "invalid_number", false},
		{"deadline", fmt.Errorf("accept: %w", context.DeadlineExceeded), 451, gosmtp.EnhancedCode{4, 4, 5},
			"timed out, try again later (session s1d)", "timeout", false},
		{"canceled", context.Canceled, 421, gosmtp.EnhancedCode{4, 3, 2}, "shutting down, try again later", "shutting_down", false},
		{"bad key", accounts.ErrBadKey, 535, gosmtp.EnhancedCode{5, 7, 8},
			"authentication failed: invalid credentials (an API key as the password, or your email and password)", "auth_failed", false},
		{"shutting down", errShuttingDown, 421, gosmtp.EnhancedCode{4, 3, 2}, "shutting down, try again later", "shutting_down", false},
		{"tls required", errTLSRequired, 530, gosmtp.EnhancedCode{5, 7, 0}, "must issue a STARTTLS command first", "tls_required", false},
		{"key mismatch", errKeyMismatch, 550, gosmtp.EnhancedCode{5, 7, 1},
			"the authenticated credential does not belong to the account of bob@a.example and may not send for it", "key_mismatch", false},
		{"too many recipients", errTooManyRcpts, 452, gosmtp.EnhancedCode{4, 5, 3}, "too many recipients (max 7)", "too_many_recipients", false},
		{"not sms domain", notSMSDomain("x.org"), 550, gosmtp.EnhancedCode{5, 1, 2},
			"x.org is not an SMS domain of this gateway", "not_sms_domain", false},
		{"bad recipient", badRecipient("expected <number>@<sms-domain>"), 550, gosmtp.EnhancedCode{5, 1, 3},
			"bad recipient address: expected <number>@<sms-domain>", "bad_address", false},
		{"bad message", fmt.Errorf("%w: boundary", errBadMessage), 554, gosmtp.EnhancedCode{5, 6, 0},
			"message cannot be parsed as MIME", "bad_message", false},
		{"too large", fmt.Errorf("read: %w", gosmtp.ErrDataTooLarge), 552, gosmtp.EnhancedCode{5, 3, 4},
			"message exceeds the size limit of 1048576 bytes", "too_large", false},
		{"auth failed before", errAuthFailedBefore, 530, gosmtp.EnhancedCode{5, 7, 0},
			"authentication failed earlier in this session: authenticate successfully before sending (session s1d)", "auth_required", false},
		{"nested mail", errNestedMail, 503, gosmtp.EnhancedCode{5, 5, 1}, "nested MAIL command: a transaction is open, send RSET first", "protocol", false},
		{"auth unavailable", errAuthAvailable, 502, gosmtp.EnhancedCode{5, 7, 0}, "Authentication not supported", "protocol", false},
		{"temporary typed", exterr.New(451, [3]int{5, 4, 1}, "timeout", "try later", nil), 451, gosmtp.EnhancedCode{4, 4, 1},
			"try later", "timeout", false},
		{"account gone", fmt.Errorf("accept: %w", fmt.Errorf("account a0-x: %w", accounts.ErrNotFound)), 550, gosmtp.EnhancedCode{5, 7, 1},
			"the sending account or what the mail refers to no longer exists (session s1d)", "not_found", false},
		{"invalid input", fmt.Errorf("accept: %w", fmt.Errorf("%w: messages: at most 10000", accounts.ErrInvalid)), 554, gosmtp.EnhancedCode{5, 6, 0},
			"invalid: messages: at most 10000", "invalid", false},
		{"internal", fmt.Errorf("accept: %w", errors.New("READONLY You can't write against a read only replica")),
			451, gosmtp.EnhancedCode{4, 3, 0}, "internal error (ref s1d)", "internal", true},
	}
	// hide_pricing: a sub-account's own senders are not told its balance.
	hidden := rc
	hidden.hidePricing = true
	be := fmt.Errorf("accept: %w", &accounts.BalanceError{Need: 30, Have: 12, Currency: "AUD"})
	if r := toSMTPError(be, hidden); r.err.Code != 554 || strings.Contains(r.err.Message, "0.12") || !strings.HasPrefix(r.err.Message, "insufficient balance") {
		t.Errorf("under hide_pricing: %d %q", r.err.Code, r.err.Message)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := toSMTPError(tt.err, rc)
			if r.err.Code != tt.code || r.err.EnhancedCode != tt.enh || r.err.Message != tt.text {
				t.Errorf("got %d %v %q, want %d %v %q", r.err.Code, r.err.EnhancedCode, r.err.Message, tt.code, tt.enh, tt.text)
			}
			if r.reason != tt.reason || r.internal != tt.internal {
				t.Errorf("reason %q internal %v, want %q %v", r.reason, r.internal, tt.reason, tt.internal)
			}
			// RFC 3463 §2: the enhanced code's class matches the reply's.
			if r.err.Code/100 != r.err.EnhancedCode[0] {
				t.Errorf("reply %d paired with enhanced code %v", r.err.Code, r.err.EnhancedCode)
			}
			if tt.internal && strings.Contains(r.err.Message, "READONLY") {
				t.Errorf("internal text leaked: %q", r.err.Message)
			}
			if !reasonKnown(r.reason) {
				t.Errorf("reason %q is not pre-created in metrics", r.reason)
			}
		})
	}
}

func reasonKnown(reason string) bool {
	for _, r := range append(append([]string{}, permanentReasons...), temporaryReasons...) {
		if r == reason {
			return true
		}
	}
	return false
}
