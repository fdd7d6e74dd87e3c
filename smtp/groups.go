package smtp

// Group recipients: RCPT TO:<group-name@sms-domain>. A local part with a
// letter in it is not a phone number, so it names a group of the sender's
// account (or a parent's group shared with it), compared case-insensitively
// with ' ', '.', '-' and '_' read alike: "Sales Team" is mailed as
// sales-team@, sales.team@ or sales_team@<sms-domain>. The group expands to
// its members' numbers; a number that is already a recipient collapses
// into it. Each member is then priced and checked like any recipient. Only
// an account with send_bulk may mail a group; one mail reaches at most
// maxMailRecipients numbers through groups. An unknown name is refused
// with 550 5.1.1, unless it starts like a number ("0412abc"): then it is
// the invalid number's 550 5.1.3.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smtp/exterr"
)

// GroupResolver finds the group a recipient names and its numbers
// (*redisstore.Store).
type GroupResolver interface {
	// GroupByName returns the account's own group of that name, else its
	// parent's group shared with it; accounts.ErrNotFound if neither.
	GroupByName(ctx context.Context, accountID, name string) (*accounts.Group, error)
	// GroupNumbers returns the E.164 numbers of a group's members.
	GroupNumbers(ctx context.Context, groupID string) ([]string, error)
}

// maxMailRecipients bounds the numbers one mail reaches when groups expand
// (each becomes a message of the one accept step).
const maxMailRecipients = 10000

// groupRefusal is a refused group recipient; msg is for the sender.
func groupRefusal(enh [3]int, reason, msg string) error {
	return exterr.New(550, enh, reason, msg, nil)
}

// isGroupRecipient reports whether to is <name>@<sms-domain> with a
// letter in name, and groups are on.
func (s *session) isGroupRecipient(to string) bool {
	at := strings.LastIndexByte(to, '@')
	if s.b.opts.Groups == nil || at <= 0 {
		return false
	}
	domain := strings.ToLower(strings.TrimSuffix(to[at+1:], "."))
	return s.b.domains[domain] && strings.ContainsFunc(to[:at], unicode.IsLetter)
}

// rcptGroup handles RCPT TO a group: it adds the group's numbers to the
// recipients.
func (s *session) rcptGroup(start time.Time, to string) error {
	at := strings.LastIndexByte(to, '@')
	name := strings.Trim(to[:at], `"`)
	if s.txn == nil {
		return s.refuse("rcpt", start, badRecipient("MAIL FROM first"))
	}
	acct := s.sender.Account
	ctx := s.commandCtx()
	g, err := s.b.opts.Groups.GroupByName(ctx, acct.ID, name)
	if errors.Is(err, accounts.ErrNotFound) {
		why := "it has letters"
		_, perr := phone.Normalize(name, acct.DefaultCountry)
		if perr != nil {
			why = strings.TrimPrefix(perr.Error(), phone.ErrInvalid.Error()+": ")
		}
		if perr != nil && strings.IndexAny(name, "+0123456789") == 0 {
			// "0412abc": a mistyped number more likely than a group, so
			// the reply is the invalid number's.
			return s.refuse("rcpt", start, fmt.Errorf("normalise recipient (no group named %q): %w", name, perr))
		}
		return s.refuse("rcpt", start, groupRefusal([3]int{5, 1, 1}, "unknown_group",
			fmt.Sprintf("no group named %q (and not a phone number: %s)", name, why)))
	}
	if err != nil {
		return s.refuse("rcpt", start, fmt.Errorf("group %q: %w", name, err))
	}
	if !acct.Can(accounts.FlagSendBulk) {
		return s.refuse("rcpt", start, exterr.Permanent(550, [3]int{5, 7, 1}, "not_permitted",
			&router.PermissionError{Flag: accounts.FlagSendBulk, Reason: "send to a group"}))
	}
	have := len(s.txn.Recipients())
	if g.Members > maxMailRecipients {
		return s.refuse("rcpt", start, tooManyInGroup(g.Name, g.Members, have))
	}
	nums, err := s.b.opts.Groups.GroupNumbers(ctx, g.ID)
	if err != nil {
		return s.refuse("rcpt", start, fmt.Errorf("numbers of group %s: %w", g.ID, err))
	}
	if len(nums) == 0 {
		return s.refuse("rcpt", start, groupRefusal([3]int{5, 1, 1}, "empty_group", fmt.Sprintf("group %q has no members", g.Name)))
	}
	fresh := 0
	for _, n := range nums {
		if !s.txn.Has(n) {
			fresh++
		}
	}
	if have+fresh > maxMailRecipients {
		return s.refuse("rcpt", start, tooManyInGroup(g.Name, len(nums), have))
	}
	fresh, err = s.txn.AddGroup(ctx, nums)
	if err != nil {
		return s.refuse("rcpt", start, fmt.Errorf("group %q: %w", g.Name, err))
	}
	s.groupRcpts += fresh
	s.b.metrics.recipientAccepted(fresh)
	s.b.metrics.recipients.WithLabelValues(rcptDuplicate).Add(float64(len(nums) - fresh))
	s.log.Info("group recipient", "group", g.ID, "shared", g.AccountID != acct.ID, "members", len(nums), "added", fresh)
	s.b.metrics.command("rcpt", 250, time.Since(start).Seconds())
	return nil
}

// tooManyInGroup is the refusal of a group that would take the mail past
// maxMailRecipients.
func tooManyInGroup(name string, members, have int) error {
	msg := fmt.Sprintf("group %q has %d members; one mail reaches at most %d numbers", name, members, maxMailRecipients)
	if have > 0 {
		msg += fmt.Sprintf(" (%d already)", have)
	}
	return groupRefusal([3]int{5, 5, 3}, "group_too_large", msg+"; split the group")
}

// queuedText is the text of the 250 reply to DATA: the message ids, the
// first few only when a group made them many (a reply line stays well
// under RFC 5321's 512 octets).
func queuedText(ids []string, session string) string {
	const show = 10
	list := strings.Join(ids, ",")
	if len(ids) > show {
		list = strings.Join(ids[:show], ",") + " and " + strconv.Itoa(len(ids)-show) + " more"
	}
	return fmt.Sprintf("queued as %s (session %s)", list, session)
}
