package main

import (
	"context"

	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smtp/relay"
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
