package router

import (
	"context"
	"fmt"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smtp/exterr"
)

// Shared source numbers. Without a pool, every account that sends from the
// operator's default source texts a phone from the same number, so the
// phone's reply (or STOP) would go to whichever account texted it last.
// With a pool (dispatch.source_pool), each (account, sender) texting a
// phone gets a pool number that no other account or sender has an open
// conversation with that phone on: sticky while the conversation lasts, so
// replies land with the one it answers. When every number is taken for a
// phone, the mail is deferred (451) rather than mis-routed. Dedicated
// numbers and sender ids are the account's own and never pooled.

// PoolStore picks pool numbers (*redisstore.Store).
type PoolStore interface {
	PickPoolSources(ctx context.Context, accountID, sender string, phones, pool []string, ttl time.Duration) ([]string, error)
}

// DefaultPoolTTL is how long a conversation holds its pool number after
// its last send: as long as the reply index (accounts/messages) keeps it.
const DefaultPoolTTL = 30 * 24 * time.Hour

// poolSources returns the source of each recipient: source itself unless
// it is the default source and a pool is configured.
func (p *Pipeline) poolSources(ctx context.Context, m *Mail, source string) ([]string, error) {
	out := make([]string, len(m.Recipients))
	if len(p.pool) == 0 || source != p.defaultSource {
		for i := range out {
			out[i] = source
		}
		return out, nil
	}
	picked, err := p.poolStore.PickPoolSources(ctx, m.Sender.Account.ID, m.Sender.Address, m.Recipients, p.pool, p.poolTTL)
	if err != nil {
		return nil, fmt.Errorf("pick source numbers: %w", err)
	}
	for i, n := range picked {
		if n == "" {
			if p.metrics != nil {
				p.metrics.poolExhausted.Inc()
			}
			p.log.WarnContext(ctx, "source pool exhausted for a recipient", "account", m.Sender.Account.ID,
				"to", accounts.MaskNumber(m.Recipients[i]), "pool", len(p.pool))
			return nil, exterr.New(451, [3]int{4, 3, 2}, "pool_exhausted",
				fmt.Sprintf("every shared source number has an open conversation with %s for another sender; try again later, or ask the operator for a dedicated number or a larger pool",
					accounts.MaskNumber(m.Recipients[i])),
				fmt.Errorf("%s: %w", accounts.MaskNumber(m.Recipients[i]), ErrPoolExhausted))
		}
		out[i] = n
	}
	return out, nil
}
