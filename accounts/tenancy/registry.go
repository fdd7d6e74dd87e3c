package tenancy

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
	"golang.org/x/net/publicsuffix"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
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
var regReleaseScript = store.NewScript("tenancy/reg_release.lua", regReleaseLua)

// AddDomain registers domain (lower-cased, trailing dot removed) to an
// account for email to SMS: mail from any address at it then resolves to the
// account. A domain belongs to at most one account system-wide: the claim is
// one SET NX, so of concurrent claims exactly one wins. Claiming again for
// the same account is a no-op; another account's domain is ErrDomainTaken;
// public mail domains are ErrPublicDomain; malformed names are ErrInvalid.
func (s *Store) AddDomain(ctx context.Context, accountID, domain string) error {
	d, err := RegNormalizeDomain(domain)
	if err != nil {
		return err
	}
	if regIsPublic(d) {
		return fmt.Errorf("domain %s: %w", d, accounts.ErrPublicDomain)
	}
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return fmt.Errorf("register %s: %w", d, err)
	}
	return s.regClaim(ctx, accountID, "domain", d, accounts.ErrDomainTaken)
}

// RemoveDomain releases a domain registered to accountID. ErrNotFound if it
// is not registered to that account.
func (s *Store) RemoveDomain(ctx context.Context, accountID, domain string) error {
	d, err := RegNormalizeDomain(domain)
	if err != nil {
		return fmt.Errorf("domain %q: %w", domain, accounts.ErrNotFound)
	}
	if _, err := s.challenge(ctx, accountID, d); err == nil { // a pending request
		return s.dropPendingDomain(ctx, accountID, d)
	}
	return s.RegRelease(ctx, accountID, "domain", d)
}

// AddAddress registers one exact email address (lower-cased) to an account;
// it takes precedence over domain registrations and may be at a public mail
// domain. ErrAddressTaken if another account has it; ErrInvalid if it is not
// an address.
//
// An exact address wins over its domain at MAIL FROM, so an address inside
// a domain registered to an account of another tree would take that
// tenant's mail: it is ErrAddressInOtherDomain. Within one tree (the
// account's own domain, its parent's, or its sub-account's) it is allowed:
// the parent's administrators control both. The domain is checked before
// the claim and again after it, so a domain registered meanwhile by
// another tree wins and the address claim is released.
func (s *Store) AddAddress(ctx context.Context, accountID, email string) error {
	a, err := accounts.NormalizeAddress(email)
	if err != nil {
		return err
	}
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return fmt.Errorf("register %s: %w", a, err)
	}
	if err := s.addrDomainFree(ctx, acct, a); err != nil {
		return err
	}
	if err := s.regClaim(ctx, accountID, "addr", a, accounts.ErrAddressTaken); err != nil {
		return err
	}
	if err := s.addrDomainFree(ctx, acct, a); err != nil {
		if rerr := s.RegRelease(context.WithoutCancel(ctx), accountID, "addr", a); rerr != nil {
			return errors.Join(err, fmt.Errorf("release %s: %w", a, rerr))
		}
		return err
	}
	return nil
}

// addrDomainFree returns ErrAddressInOtherDomain when the domain of address
// a is registered to an account outside acct's tree.
func (s *Store) addrDomainFree(ctx context.Context, acct *accounts.Account, a string) error {
	domain := a[strings.LastIndexByte(a, '@')+1:]
	owner, err := s.RDB.Get(ctx, s.Keys.Registration("domain", domain)).Result()
	if errors.Is(err, redis.Nil) || owner == acct.ID || (acct.ParentID != "" && owner == acct.ParentID) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("register %s: domain %s: %w", a, domain, err)
	}
	if o, err := s.GetAccount(ctx, owner); err == nil && o.ParentID == acct.ID {
		return nil // a sub-account's domain: the parent may route an address of it
	} else if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		return fmt.Errorf("register %s: owner of %s: %w", a, domain, err)
	}
	return fmt.Errorf("address %s (domain %s): %w", a, domain, accounts.ErrAddressInOtherDomain)
}

// RemoveAddress releases an address registered to accountID. ErrNotFound if
// it is not registered to that account.
func (s *Store) RemoveAddress(ctx context.Context, accountID, email string) error {
	if shard, err := s.ShardFromID(accountID); err == nil {
		// A pending one is withdrawn: its mailed token then confirms nothing.
		n, err := s.RDB.HDel(ctx, s.Keys.PendingRegs(shard, accountID), "addr:"+strings.ToLower(strings.TrimSpace(email))).Result()
		if err != nil {
			return fmt.Errorf("unregister %s: %w", email, err)
		}
		if n > 0 {
			return nil
		}
	}
	a, err := accounts.NormalizeAddress(email)
	if err != nil {
		return fmt.Errorf("address %q: %w", email, accounts.ErrNotFound)
	}
	return s.RegRelease(ctx, accountID, "addr", a)
}

// Registrations returns an account's registered domains and addresses,
// each sorted.
func (s *Store) Registrations(ctx context.Context, accountID string) (domains, addresses []string, err error) {
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, nil, fmt.Errorf("registrations: %w", err)
	}
	shard, _ := s.ShardFromID(accountID)
	regs, err := s.RDB.SMembers(ctx, s.Keys.Registrations(shard, accountID)).Result()
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
// parent's status and sender policy, in one HMGET, for a sub-account).
func (s *Store) ResolveSender(ctx context.Context, email string) (*accounts.Sender, error) {
	addr := strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(addr, '@')
	if at < 1 || at == len(addr)-1 {
		return nil, fmt.Errorf("sender %q: %w", addr, accounts.ErrUnknownSender)
	}
	domain := strings.TrimSuffix(addr[at+1:], ".")
	pipe := s.RDB.Pipeline()
	byAddr := pipe.Get(ctx, s.Keys.Registration("addr", addr))
	byBase := byAddr // "alice+ACME@x" (a sender id choice, senders.go) is alice@x's
	if base, _ := accounts.SplitPlus(addr); base != addr {
		byBase = pipe.Get(ctx, s.Keys.Registration("addr", base))
	}
	byDomain := pipe.Get(ctx, s.Keys.Registration("domain", domain))
	pending := pipe.SCard(ctx, s.Keys.PendingDomain(domain))
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
	if id == "" && pending.Val() > 0 {
		return nil, fmt.Errorf("sender %s: domain %s: %w: %w", addr, domain, accounts.ErrDomainPending, accounts.ErrUnknownSender)
	}
	if id == "" {
		return nil, fmt.Errorf("sender %s: %w", addr, accounts.ErrUnknownSender)
	}
	// The parent's status and sender policy in one HMGET.
	a, parent, err := s.AcctActiveParent(ctx, id, "sender_policy")
	switch {
	case errors.Is(err, accounts.ErrNotFound): // a registration left by a crash
		return nil, fmt.Errorf("sender %s: %w", addr, accounts.ErrUnknownSender)
	case err != nil:
		return nil, fmt.Errorf("sender %s: %w", addr, err)
	}
	pol, err := policyOf(a, parent[0])
	if err != nil {
		return nil, fmt.Errorf("sender %s: %w", addr, err)
	}
	return &accounts.Sender{Account: a, Address: addr, Match: match, Policy: pol}, nil
}

// regClaim claims P:<kind>:<value> for accountID (which the caller has
// loaded: it exists) with SET NX and records it in the account's
// registration set.
func (s *Store) regClaim(ctx context.Context, accountID, kind, value string, taken error) error {
	key := s.Keys.Registration(kind, value)
	for attempt := 0; ; attempt++ {
		ok, err := s.RDB.SetNX(ctx, key, accountID, 0).Result()
		if err != nil {
			return fmt.Errorf("register %s: %w", value, err)
		}
		if ok {
			break
		}
		owner, err := s.RDB.Get(ctx, key).Result()
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
	shard, _ := s.ShardFromID(accountID)
	if err := s.RDB.SAdd(ctx, s.Keys.Registrations(shard, accountID), kind+":"+value).Err(); err != nil {
		return fmt.Errorf("register %s: %w", value, err)
	}
	return nil
}

// RegRelease deletes P:<kind>:<value> if accountID owns it, then drops it
// from the account's registration set.
func (s *Store) RegRelease(ctx context.Context, accountID, kind, value string) error {
	if _, err := s.AcctKey(accountID); err != nil {
		return err
	}
	n, err := s.Run(ctx, regReleaseScript, []string{s.Keys.Registration(kind, value)}, accountID).Int()
	if err != nil {
		return fmt.Errorf("unregister %s: %w", value, err)
	}
	shard, _ := s.ShardFromID(accountID)
	if err := s.RDB.SRem(ctx, s.Keys.Registrations(shard, accountID), kind+":"+value).Err(); err != nil {
		return fmt.Errorf("unregister %s: %w", value, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %s of account %s: %w", kind, value, accountID, accounts.ErrNotFound)
	}
	return nil
}

// RegNormalizeDomain lower-cases d, drops a trailing dot and checks that it
// is a DNS host name of at least two labels (RFC 1123 §2.1). Internationalised
// names must be given in their A-label (xn--) form.
func RegNormalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if !accounts.ValidDomain(d) {
		return "", fmt.Errorf("%w: domain: %q is not a domain name", accounts.ErrInvalid, d)
	}
	return d, nil
}

// freeMailBrands are the first labels of free mail providers' registrable
// domains that exist under many public suffixes (yahoo.com.au,
// outlook.com.au, hotmail.co.uk, gmx.at): any of them is a provider's, not
// one organisation's.
var freeMailBrands = map[string]bool{
	"gmail": true, "googlemail": true, "yahoo": true, "ymail": true, "rocketmail": true,
	"hotmail": true, "outlook": true, "live": true, "windowslive": true, "msn": true,
	"aol": true, "gmx": true, "yandex": true, "protonmail": true,
}

// regIsPublic reports whether d can never be one account's domain: a public
// suffix itself (co.uk, com.au, github.io: anyone registers names under
// it), a free mail provider's domain in any country, or a subdomain of one.
func regIsPublic(d string) bool {
	if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
		return true
	}
	if reg, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		if label, _, _ := strings.Cut(reg, "."); freeMailBrands[label] {
			return true
		}
	}
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
