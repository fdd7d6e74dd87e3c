package smtp

// Sender policy (accounts.SenderPolicy): who may send as the addresses and
// domains registered to an account. At MAIL FROM, once the sender resolves
// to an account, the session authorises it in one place (authorise):
//
//  1. an authenticated session whose credential may send for the account;
//  2. a connecting address inside the policy's networks;
//  3. SPF pass for the MAIL FROM domain and the connecting address, when
//     the policy trusts SPF;
//  4. when the policy trusts DKIM and nothing above passed, the mail is
//     taken provisionally: RCPT checks only the recipient's form (no
//     balance, price, opt-out or route is looked at), and at DATA a valid
//     DKIM signature aligned with the From header's domain, whose address
//     belongs to the same account, authorises it; only then are the
//     recipients checked and the mail accepted.
//
// Anything else is refused with 550 5.7.1 saying which check failed and how
// to fix it. Like the other refusals about who the sender is, it is given
// at RCPT (postmaster.go), so the sender can still reach the postmaster.
// A DNS failure is a deferral (451), never an acceptance.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/netip"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smtp/exterr"
	"github.com/smsgate/smsgate/smtp/senderauth"
)

// SenderAuth checks what the DNS of a sender's domain vouches for
// (*senderauth.Checker).
type SenderAuth interface {
	// SPF returns the RFC 7208 result for ip sending as from (helo for the
	// null sender) and, for the error results, why.
	SPF(ctx context.Context, ip netip.Addr, helo, from string) (string, error)
	// DKIM verifies msg's signatures against fromDomain (aligned).
	DKIM(ctx context.Context, msg io.Reader, fromDomain string) senderauth.DKIMResult
}

// errNotAuthorised matches every sender-policy refusal (deferrable).
var errNotAuthorised = errors.New("sender not authorised by the account's sender policy")

// How a sender was authorised: the label values of
// smsgate_smtp_sender_authorised_total{method}.
const (
	authByAuth    = "auth"
	authByNetwork = "network"
	authBySPF     = "spf"
	authByDKIM    = "dkim"
)

// policyRefusal is a 550 5.7.1 (or, for a DNS failure, 451 4.4.3) whose
// text says what failed and how to fix it.
func policyRefusal(temporary bool, reason, msg string) error {
	if temporary {
		return exterr.New(451, [3]int{4, 4, 3}, reason, msg, errNotAuthorised)
	}
	return exterr.New(550, [3]int{5, 7, 1}, reason, msg, errNotAuthorised)
}

// fixHint ends every permanent refusal.
func fixHint(ip netip.Addr) string {
	if !ip.IsValid() {
		return "use SMTP AUTH"
	}
	return "use SMTP AUTH or ask the account administrator to allow this network (" + ip.String() + ")"
}

// remoteIP is the connecting client's address (invalid if unknown), read
// when the session began.
func (s *session) remoteIP() netip.Addr { return s.ip }

// authorise applies the sender's policy at MAIL FROM. It returns how the
// sender was authorised, or "" with s.dkimPending set when only a DKIM
// signature at DATA can still authorise it, or a refusal.
func (s *session) authorise(ctx context.Context, sender *accounts.Sender) (string, error) {
	if s.identity != nil {
		if !s.identity.MaySendAs(sender.Account) {
			return "", errKeyMismatch
		}
		if s.identity.IsUser() {
			// A user's own credentials send as that user: the message is
			// theirs (statistics, "own data only", replies by mail).
			sender.Address = s.identity.UserEmail
		}
		return authByAuth, nil
	}
	pol := sender.Policy.SenderPolicy
	ip := s.remoteIP()
	if ip.IsValid() && pol.AllowsAddr(ip) {
		return authByNetwork, nil
	}
	domain := sender.Address[strings.LastIndexByte(sender.Address, '@')+1:]
	s.spfResult, s.spfErr = "", nil
	if pol.SPF && ip.IsValid() && s.b.opts.SenderAuth != nil {
		res, err := s.b.opts.SenderAuth.SPF(ctx, ip, s.conn.Hostname(), sender.Address)
		s.spfResult, s.spfErr = res, err
		s.b.metrics.spf.WithLabelValues(res).Inc()
		s.log.Info("spf", "result", res, "ip", ip, "domain", domain)
		if res == senderauth.SPFPass {
			return authBySPF, nil
		}
	}
	if pol.DKIM && s.b.opts.SenderAuth != nil {
		s.dkimPending = true
		return "", nil
	}
	return "", s.policyFailure(pol, ip, domain, "")
}

// policyFailure is the refusal once nothing authorised the sender; dkim
// describes the DKIM outcome when it was tried.
func (s *session) policyFailure(pol accounts.SenderPolicy, ip netip.Addr, domain, dkim string) error {
	who := ip.String()
	if !ip.IsValid() {
		who = "this client"
	}
	var spfPart string
	temporary, reason := false, "policy_network"
	switch {
	case !pol.SPF || s.spfResult == "":
		spfPart = who + " is not in the networks allowed to send for " + domain
		if pol.SPF && s.b.opts.SenderAuth == nil {
			spfPart += " (SPF is not checked on this gateway)"
		}
	case s.spfResult == senderauth.SPFNone:
		spfPart = "sender domain " + domain + " publishes no SPF record, so it does not authorise " + who + " (SPF none)"
		reason = "policy_spf_none"
	case s.spfResult == senderauth.SPFTempError:
		spfPart = "the SPF record of " + domain + " could not be checked (SPF temperror: DNS did not answer)"
		temporary, reason = true, "policy_spf_temperror"
	case s.spfResult == senderauth.SPFPermError:
		spfPart = "the SPF record of " + domain + " is broken (SPF permerror"
		if s.spfErr != nil {
			spfPart += ": " + s.spfErr.Error()
		}
		spfPart += ")"
		reason = "policy_spf_permerror"
	default: // fail, softfail, neutral
		spfPart = "sender domain " + domain + " does not authorise " + who + " (SPF " + s.spfResult + ")"
		reason = "policy_spf_fail"
	}
	msg := spfPart
	if dkim != "" {
		msg += " and " + dkim
		if !temporary {
			reason = "policy_dkim"
		}
	}
	if temporary {
		return policyRefusal(true, reason, msg+"; try again later")
	}
	return policyRefusal(false, reason, msg+"; "+fixHint(ip))
}

// rcptPending takes a recipient while DKIM must still authorise the
// sender: only its form is checked (nothing about the account is looked
// at); it is added for real by dataPending.
func (s *session) rcptPending(start time.Time, to string) error {
	if !s.isGroupRecipient(to) {
		if _, err := s.recipient(to); err != nil {
			s.b.metrics.recipients.WithLabelValues(rcptRejected).Inc()
			return s.refuse("rcpt", start, err)
		}
	}
	if max := s.b.opts.MaxRecipients; max > 0 && len(s.pending) >= max {
		s.b.metrics.recipients.WithLabelValues(rcptRejected).Inc()
		return s.refuse("rcpt", start, errTooManyRcpts)
	}
	s.pending = append(s.pending, to)
	s.b.metrics.command("rcpt", 250, time.Since(start).Seconds())
	return nil
}

// dataPending reads the message, authorises the sender by DKIM, then adds
// the recipients kept by rcptPending and accepts the mail as Data does. A
// recipient refused now refuses the whole mail (one reply to DATA), so
// nothing is sent that the sender was not told about.
func (s *session) dataPending(r io.Reader) error {
	start := time.Now()
	raw, err := io.ReadAll(r)
	if err != nil {
		return s.refuse("data", start, fmt.Errorf("read message: %w", err))
	}
	ctx := s.commandCtx()
	if err := s.authoriseDKIM(ctx, raw); err != nil {
		return s.refuse("data", start, err)
	}
	s.dkimPending = false
	pending := s.pending
	s.pending = nil
	for _, to := range pending {
		if rerr := s.Rcpt(to, nil); rerr != nil {
			s.log.Info("mail refused: a recipient was refused once the sender was authorised", "recipients", len(pending))
			return rerr
		}
	}
	return s.Data(bytes.NewReader(raw))
}

// authoriseDKIM checks raw's DKIM signatures against its From header,
// whose address must belong to the sender's account.
func (s *session) authoriseDKIM(ctx context.Context, raw []byte) error {
	pol := s.sender.Policy.SenderPolicy
	ip := s.remoteIP()
	domain := s.sender.Address[strings.LastIndexByte(s.sender.Address, '@')+1:]
	from, err := headerFrom(raw)
	if err != nil {
		s.b.metrics.dkim.WithLabelValues("no_from").Inc()
		return s.policyFailure(pol, ip, domain, "DKIM cannot be checked: "+err.Error())
	}
	fromDomain := from[strings.LastIndexByte(from, '@')+1:]
	res := s.b.opts.SenderAuth.DKIM(ctx, bytes.NewReader(raw), fromDomain)
	s.b.metrics.dkim.WithLabelValues(res.Result).Inc()
	s.log.Info("dkim", "result", res.Result, "signer", res.Domain, "from_domain", fromDomain)
	switch res.Result {
	case senderauth.DKIMPass:
	case senderauth.DKIMTempError:
		return policyRefusal(true, "policy_dkim_temperror", "the DKIM key of "+res.Domain+" could not be fetched (DKIM temperror); try again later")
	case senderauth.DKIMNone:
		return s.policyFailure(pol, ip, domain, "the mail has no DKIM signature (DKIM none)")
	case senderauth.DKIMUnaligned:
		return s.policyFailure(pol, ip, domain, "its DKIM signature is by "+res.Domain+", not by the From domain "+fromDomain+" (DKIM unaligned)")
	default:
		return s.policyFailure(pol, ip, domain, "its DKIM signature does not verify (DKIM fail: "+res.Reason+")")
	}
	owner, err := s.b.opts.Resolver.ResolveSender(ctx, from)
	if err != nil && !errors.Is(err, accounts.ErrUnknownSender) && !errors.Is(err, accounts.ErrDeactivated) {
		return fmt.Errorf("resolve From header: %w", err)
	}
	if owner == nil || owner.Account == nil || owner.Account.ID != s.sender.Account.ID {
		return policyRefusal(false, "policy_dkim", "the From header <"+from+"> is not registered to the same account as the envelope sender <"+s.sender.Address+">, so its DKIM signature cannot authorise it; "+fixHint(ip))
	}
	s.b.metrics.senderAuthorised(authByDKIM)
	s.log.Info("sender authorised", "method", authByDKIM, "account", s.sender.Account.ID)
	return nil
}

// headerFrom returns the single address of raw's From header, lower-cased.
func headerFrom(raw []byte) (string, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("the header cannot be read")
	}
	v := m.Header.Get("From")
	if v == "" {
		return "", fmt.Errorf("the mail has no From header")
	}
	list, err := mail.ParseAddressList(v)
	if err != nil {
		// An encoded display name in a charset net/mail does not know:
		// the address is what matters.
		if i, j := strings.LastIndexByte(v, '<'), strings.LastIndexByte(v, '>'); i >= 0 && j > i {
			list, err = []*mail.Address{{Address: v[i+1 : j]}}, nil
		}
	}
	if err != nil || len(list) != 1 || !strings.Contains(list[0].Address, "@") {
		return "", fmt.Errorf("the From header does not hold exactly one address")
	}
	return strings.ToLower(list[0].Address), nil
}
