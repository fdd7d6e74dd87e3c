package router

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smpp"
)

// InboundStore is what receipts and replies need from the store.
type InboundStore interface {
	ApplyReceipt(ctx context.Context, link, canonicalID, status, errCode string, at time.Time) (*accounts.Message, error)
	RouteReply(ctx context.Context, r accounts.Reply) (*accounts.Reply, *accounts.Message, error)
}

// ReplyMailer mails a routed reply to the sender of the original message.
type ReplyMailer interface {
	MailReply(ctx context.Context, r *accounts.Reply, orig *accounts.Message) error
}

// InboundOptions configures an Inbound.
type InboundOptions struct {
	Store   InboundStore
	Mailer  ReplyMailer // nil: replies are not mailed
	Logger  *slog.Logger
	Metrics *Metrics
	// OrphanWait is how long a receipt that names no known message is kept
	// and tried again: a receipt can overtake the recording of its submit.
	OrphanWait time.Duration
}

// Inbound handles what carriers send us: delivery receipts and replies.
type Inbound struct {
	o   InboundOptions
	log *slog.Logger

	mu      sync.Mutex
	orphans []orphan
	wake    chan struct{}
}

type orphan struct {
	link  string
	r     smpp.Receipt
	until time.Time
}

// NewInbound returns an Inbound; Run must run for early receipts to be
// matched later.
func NewInbound(o InboundOptions) *Inbound {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OrphanWait <= 0 {
		o.OrphanWait = 30 * time.Second
	}
	return &Inbound{o: o, log: o.Logger, wake: make(chan struct{}, 1)}
}

// HandleDeliver is the links' OnDeliver: a receipt updates its message, a
// reply is routed to the inbox that owns the conversation. An error makes the
// link answer with a temporary error so that the carrier delivers it again.
func (in *Inbound) HandleDeliver(ctx context.Context, d *smpp.Deliver) error {
	if d.Receipt != nil {
		return in.receipt(ctx, d.Link, *d.Receipt)
	}
	return in.reply(ctx, d)
}

func (in *Inbound) receipt(ctx context.Context, link string, r smpp.Receipt) error {
	status, final := smpp.StatFinal(r.Stat)
	if !final {
		in.count(r.Stat, "intermediate")
		return nil
	}
	_, err := in.apply(ctx, link, r, status)
	if errors.Is(err, accounts.ErrNotFound) {
		in.mu.Lock()
		in.orphans = append(in.orphans, orphan{link: link, r: r, until: time.Now().Add(in.o.OrphanWait)})
		in.mu.Unlock()
		return nil
	}
	return err
}

func (in *Inbound) apply(ctx context.Context, link string, r smpp.Receipt, status string) (*accounts.Message, error) {
	// The receipt's done date has minute resolution and the carrier's clock;
	// the time we learned of it is what the message log needs.
	m, err := in.o.Store.ApplyReceipt(ctx, link, smpp.CanonicalID(r.ID), status, r.Err, time.Now())
	if err == nil {
		in.count(status, "matched")
	}
	return m, err
}

func (in *Inbound) count(status, result string) {
	if in.o.Metrics != nil {
		in.o.Metrics.receipts.WithLabelValues(status, result).Inc()
	}
}

// Submitted wakes the orphan matcher: newly recorded submits may be what
// waiting receipts name. Wire it to DispatcherOptions.Submitted.
func (in *Inbound) Submitted() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Run retries orphan receipts whenever submits are recorded (and once a
// second to expire them) until ctx ends.
func (in *Inbound) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-in.wake:
		case <-tick.C:
		}
		in.mu.Lock()
		pending := in.orphans
		in.orphans = nil
		in.mu.Unlock()
		var keep []orphan
		now := time.Now()
		for _, o := range pending {
			status, _ := smpp.StatFinal(o.r.Stat)
			_, err := in.apply(ctx, o.link, o.r, status)
			switch {
			case err == nil:
			case errors.Is(err, accounts.ErrNotFound) && now.Before(o.until):
				keep = append(keep, o)
			case errors.Is(err, accounts.ErrNotFound):
				in.count(status, "unmatched")
				in.log.WarnContext(ctx, "receipt for unknown message", "link", o.link, "smsc_id", o.r.ID)
			default:
				keep = append(keep, o)
				in.log.ErrorContext(ctx, "apply receipt", "err", err)
			}
		}
		if len(keep) > 0 {
			in.mu.Lock()
			in.orphans = append(in.orphans, keep...)
			in.mu.Unlock()
		}
	}
}

func (in *Inbound) reply(ctx context.Context, d *smpp.Deliver) error {
	r, orig, err := in.o.Store.RouteReply(ctx, accounts.Reply{
		From: d.Source, To: d.Dest, Text: d.Text, Link: d.Link, ReceivedAt: time.Now(),
	})
	if err != nil {
		return err
	}
	result := "routed"
	if orig == nil {
		result = "unrouted"
	}
	if in.o.Metrics != nil {
		in.o.Metrics.replies.WithLabelValues(result).Inc()
	}
	in.log.InfoContext(ctx, "reply received", "reply", r.ID, "account", r.AccountID, "message", r.MessageID, "result", result)
	if orig != nil && in.o.Mailer != nil && orig.Sender != "" {
		// Mailing is best effort after the reply is stored: the inbox has it
		// either way. The mailer retries on its own.
		if err := in.o.Mailer.MailReply(ctx, r, orig); err != nil {
			in.log.ErrorContext(ctx, "queue reply mail", "err", err, "reply", r.ID)
		}
	}
	return nil
}
