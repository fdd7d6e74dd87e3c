package accounts

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// regPublicDomain reports whether d is a free mail provider's domain: anyone
// can get an address there, so such domains can never be registered (only
// exact addresses can).
func regPublicDomain(d string) bool {
	switch d {
	case "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com",
		"msn.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "rocketmail.com", "aol.com", "icloud.com",
		"me.com", "mac.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "proton.me",
		"protonmail.com", "pm.me", "yandex.ru", "yandex.com", "mail.ru", "qq.com", "163.com", "126.com",
		"zoho.com", "fastmail.com", "hushmail.com", "tutanota.com", "tuta.io", "bigpond.com",
		"optusnet.com.au", "t-online.de", "orange.fr", "free.fr", "libero.it", "naver.com",
		"rediffmail.com":
		return true
	}
	return false
}

//go:embed lua/reg_release.lua
var regReleaseLua string

// regReleaseScript deletes a registration key only if it still names the
// given account.
var regReleaseScript = redis.NewScript(regReleaseLua)

// AddDomain registers domain (lower-cased, trailing dot removed) to an
// account for email to SMS: mail from any address at it then resolves to the
// account. A domain belongs to at most one account system-wide: the claim is
// one SET NX, so of concurrent claims exactly one wins. Claiming again for
// the same account is a no-op; another account's domain is ErrDomainTaken;
// public mail domains are ErrPublicDomain; malformed names are ErrInvalid.
func (s *Store) AddDomain(ctx context.Context, accountID, domain string) error {
	d, err := regNormalizeDomain(domain)
	if err != nil {
		return err
	}
	if regIsPublic(d) {
		return fmt.Errorf("domain %s: %w", d, ErrPublicDomain)
	}
	return s.regClaim(ctx, accountID, "domain", d, ErrDomainTaken)
}

// RemoveDomain releases a domain registered to accountID. ErrNotFound if it
// is not registered to that account.
func (s *Store) RemoveDomain(ctx context.Context, accountID, domain string) error {
	d, err := regNormalizeDomain(domain)
	if err != nil {
		return fmt.Errorf("domain %q: %w", domain, ErrNotFound)
	}
	return s.regRelease(ctx, accountID, "domain", d)
}

// AddAddress registers one exact email address (lower-cased) to an account;
// it takes precedence over domain registrations and may be at a public mail
// domain. ErrAddressTaken if another account has it; ErrInvalid if it is not
// an address.
func (s *Store) AddAddress(ctx context.Context, accountID, email string) error {
	a, err := regNormalizeAddress(email)
	if err != nil {
		return err
	}
	return s.regClaim(ctx, accountID, "addr", a, ErrAddressTaken)
}

// RemoveAddress releases an address registered to accountID. ErrNotFound if
// it is not registered to that account.
func (s *Store) RemoveAddress(ctx context.Context, accountID, email string) error {
	a, err := regNormalizeAddress(email)
	if err != nil {
		return fmt.Errorf("address %q: %w", email, ErrNotFound)
	}
	return s.regRelease(ctx, accountID, "addr", a)
}

// Registrations returns an account's registered domains and addresses,
// each sorted.
func (s *Store) Registrations(ctx context.Context, accountID string) (domains, addresses []string, err error) {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, nil, fmt.Errorf("registrations: %w", err)
	}
	shard, _ := s.shardFromID(accountID)
	regs, err := s.rdb.SMembers(ctx, s.skey(shard, "regs", accountID)).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("registrations of %s: %w", accountID, err)
	}
	domains, addresses = []string{}, []string{}
	for _, r := range regs {
		if d, ok := strings.CutPrefix(r, "domain:"); ok {
			domains = append(domains, d)
		} else if a, ok := strings.CutPrefix(r, "addr:"); ok {
			addresses = append(addresses, a)
		}
	}
	slices.Sort(domains)
	slices.Sort(addresses)
	return domains, addresses, nil
}

// ResolveSender maps a MAIL FROM address to its account: an exact address
// registration first (the address itself, then without its +tag, RFC 5233),
// then the address's domain. Address keeps the tag. ErrUnknownSender (wrapped
// with the address) when neither is registered; ErrDeactivated when the
// account or its parent is deactivated. It runs once per SMTP transaction:
// both lookups go in one pipeline, then one HGETALL (plus one HGET of the
// parent's status for a sub-account).
func (s *Store) ResolveSender(ctx context.Context, email string) (*Sender, error) {
	addr := strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(addr, '@')
	if at < 1 || at == len(addr)-1 {
		return nil, fmt.Errorf("sender %q: %w", addr, ErrUnknownSender)
	}
	domain := strings.TrimSuffix(addr[at+1:], ".")
	pipe := s.rdb.Pipeline()
	byAddr := pipe.Get(ctx, s.gkey("addr", addr))
	byBase := byAddr // "alice+ACME@x" (a sender id choice, senders.go) is alice@x's
	if base, _ := SplitPlus(addr); base != addr {
		byBase = pipe.Get(ctx, s.gkey("addr", base))
	}
	byDomain := pipe.Get(ctx, s.gkey("domain", domain))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("resolve sender: %w", err)
	}
	id, match := byAddr.Val(), "address"
	if id == "" {
		id = byBase.Val()
	}
	if id == "" {
		id, match = byDomain.Val(), "domain"
	}
	if id == "" {
		return nil, fmt.Errorf("sender %s: %w", addr, ErrUnknownSender)
	}
	a, err := s.acctActive(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound): // a registration left by a crash
		return nil, fmt.Errorf("sender %s: %w", addr, ErrUnknownSender)
	case err != nil:
		return nil, fmt.Errorf("sender %s: %w", addr, err)
	}
	return &Sender{Account: a, Address: addr, Match: match}, nil
}

// regClaim claims P:<kind>:<value> for accountID with SET NX and records it
// in the account's registration set.
func (s *Store) regClaim(ctx context.Context, accountID, kind, value string, taken error) error {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return fmt.Errorf("register %s: %w", value, err)
	}
	key := s.gkey(kind, value)
	for attempt := 0; ; attempt++ {
		ok, err := s.rdb.SetNX(ctx, key, accountID, 0).Result()
		if err != nil {
			return fmt.Errorf("register %s: %w", value, err)
		}
		if ok {
			break
		}
		owner, err := s.rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) && attempt < 3 { // released meanwhile: claim again
			continue
		}
		if err != nil {
			return fmt.Errorf("register %s: %w", value, err)
		}
		if owner != accountID {
			return fmt.Errorf("%s %s: %w", kind, value, taken)
		}
		break
	}
	// Idempotent; also repairs the set if an earlier call died here.
	shard, _ := s.shardFromID(accountID)
	if err := s.rdb.SAdd(ctx, s.skey(shard, "regs", accountID), kind+":"+value).Err(); err != nil {
		return fmt.Errorf("register %s: %w", value, err)
	}
	return nil
}

// regRelease deletes P:<kind>:<value> if accountID owns it, then drops it
// from the account's registration set.
func (s *Store) regRelease(ctx context.Context, accountID, kind, value string) error {
	if _, err := s.acctKey(accountID); err != nil {
		return err
	}
	n, err := regReleaseScript.Run(ctx, s.rdb, []string{s.gkey(kind, value)}, accountID).Int()
	if err != nil {
		return fmt.Errorf("unregister %s: %w", value, err)
	}
	shard, _ := s.shardFromID(accountID)
	if err := s.rdb.SRem(ctx, s.skey(shard, "regs", accountID), kind+":"+value).Err(); err != nil {
		return fmt.Errorf("unregister %s: %w", value, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %s of account %s: %w", kind, value, accountID, ErrNotFound)
	}
	return nil
}

// regNormalizeDomain lower-cases d, drops a trailing dot and checks that it
// is a DNS host name of at least two labels (RFC 1123 §2.1). Internationalised
// names must be given in their A-label (xn--) form.
func regNormalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if !regValidDomain(d) {
		return "", fmt.Errorf("%w: domain: %q is not a domain name", ErrInvalid, d)
	}
	return d, nil
}

func regValidDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := range len(l) {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.Trim(tld, "0123456789") != "" // not an IP address
}

// regIsPublic reports whether d is a public mail domain or a subdomain of one.
func regIsPublic(d string) bool {
	for {
		if regPublicDomain(d) {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return false
		}
		d = d[i+1:]
	}
}

// regNormalizeAddress parses a bare address (net/mail), lower-cases it and
// checks its domain.
func regNormalizeAddress(email string) (string, error) {
	email = strings.TrimSpace(email)
	pa, err := mail.ParseAddress(email)
	if err != nil || pa.Name != "" || strings.ContainsAny(email, "<>") {
		return "", fmt.Errorf("%w: address: %q is not an email address", ErrInvalid, email)
	}
	a := strings.ToLower(pa.Address)
	at := strings.LastIndexByte(a, '@')
	if !regValidLocal(a[:at]) {
		return "", fmt.Errorf("%w: address: %q: quoted or unusual local parts are not supported", ErrInvalid, email)
	}
	if !regValidDomain(a[at+1:]) {
		return "", fmt.Errorf("%w: address: %q has no valid domain", ErrInvalid, email)
	}
	return a, nil
}

// regValidLocal accepts an RFC 5322 dot-atom local part (§3.2.3), with
// UTF-8 allowed as in RFC 6532.
func regValidLocal(l string) bool {
	if l == "" || l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return false
	}
	for i := range len(l) {
		c := l[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 ||
			strings.IndexByte(".!#$%&'*+-/=?^_`{|}~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}
