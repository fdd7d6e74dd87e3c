package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smtp/relay"
	"github.com/smsgate/smsgate/smtp/senderauth"
)

// postmasterForwarder forwards mail for postmaster@<sms-domain> to
// smtp.postmaster through the relay; nil (accept and log only) when either
// is not configured.
func postmasterForwarder(cfg *config.Config, mailer *relay.Mailer) func(context.Context, string, []byte) error {
	to := cfg.SMTP.Postmaster
	if to == "" || mailer == nil {
		return nil
	}
	return func(ctx context.Context, envelopeFrom string, data []byte) error {
		return mailer.ForwardPostmaster(ctx, to, envelopeFrom, data)
	}
}

// noticeMailer sends the API's plain-text mails (address confirmations)
// through the relay; nil without one.
func noticeMailer(mailer *relay.Mailer, hostname string) func(ctx context.Context, to, subject, body string) error {
	if mailer == nil {
		return nil
	}
	return func(ctx context.Context, to, subject, body string) error {
		var id [8]byte
		_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+)
		return mailer.MailNotice(ctx, relay.Notice{To: to, ID: "confirm-" + hex.EncodeToString(id[:]), Subject: subject, Body: body, Date: time.Now()})
	}
}

// verifyLookup resolves the TXT records of domain verification: uncached,
// so that a record just published is seen, bounded by dns.timeout.
func verifyLookup(cfg *config.Config) func(ctx context.Context, name string) ([]string, error) {
	r := senderauth.NewResolver(cfg.DNS.Servers)
	return func(ctx context.Context, name string) ([]string, error) {
		ctx, cancel := context.WithTimeout(ctx, cfg.DNS.Timeout.Std())
		defer cancel()
		return r.LookupTXT(ctx, name)
	}
}

// checkSourcePool refuses to start when a shared pool number is also an
// account's dedicated number: its replies would belong to two owners.
func checkSourcePool(ctx context.Context, store *redisstore.Store, pool []string) error {
	for i, n := range pool {
		owner, err := store.NumberInbox(ctx, n)
		if err != nil {
			return fmt.Errorf("check dispatch.source_pool: %w", err)
		}
		if owner != "" {
			return fmt.Errorf("dispatch.source_pool[%d]: %s is a dedicated number of account %s; take it out of the pool or free it (smsgate admin number remove)", i, n, owner)
		}
	}
	return nil
}
