package tenancy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

// Registrations are owned, not claimed. A domain asked for through the API
// is pending (RequestDomain) until the account proves control of it with a
// DNS TXT token (VerifyDomain) or the operator approves it (ApproveDomain);
// only then is it claimed, and of several accounts asking for one domain the
// first to prove control gets it (a pending request blocks nobody). An exact
// address outside the account tree's verified domains waits for its owner
// to confirm it with a token mailed to it (RequestAddress, ConfirmAddress).

// RequestDomain records accountID's request to register domain and returns
// the TXT record that proves control. Asking again returns the same token.
// A domain the account already has returns nil; one another account has
// verified is ErrDomainTaken; public suffixes and free mail domains are
// ErrPublicDomain.
func (s *Store) RequestDomain(ctx context.Context, accountID, domain string) (*accounts.DomainChallenge, error) {
	d, err := RegNormalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	if regIsPublic(d) {
		return nil, fmt.Errorf("domain %s: %w", d, accounts.ErrPublicDomain)
	}
	if _, err := s.GetAccount(ctx, accountID); err != nil {
		return nil, fmt.Errorf("register %s: %w", d, err)
	}
	owner, err := s.RDB.Get(ctx, s.Keys.Registration("domain", d)).Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return nil, fmt.Errorf("register %s: %w", d, err)
	case owner == accountID:
		return nil, nil
	default:
		return nil, fmt.Errorf("domain %s: %w", d, accounts.ErrDomainTaken)
	}
	shard, _ := s.ShardFromID(accountID)
	pend := s.Keys.PendingRegs(shard, accountID)
	token := store.RandomSecret(16)
	now := s.Now().UnixMilli()
	// HSETNX keeps the first token: a client that asks twice publishes one.
	if err := s.RDB.HSetNX(ctx, pend, "domain:"+d, token+" "+strconv.FormatInt(now, 10)).Err(); err != nil {
		return nil, fmt.Errorf("register %s: %w", d, err)
	}
	if err := s.RDB.SAdd(ctx, s.Keys.PendingDomain(d), accountID).Err(); err != nil {
		return nil, fmt.Errorf("register %s: %w", d, err)
	}
	return s.challenge(ctx, accountID, d)
}

// challenge returns accountID's pending request for d, or ErrNotFound.
func (s *Store) challenge(ctx context.Context, accountID, d string) (*accounts.DomainChallenge, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return nil, err
	}
	v, err := s.RDB.HGet(ctx, s.Keys.PendingRegs(shard, accountID), "domain:"+d).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("pending domain %s of account %s: %w", d, accountID, accounts.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pending domain %s: %w", d, err)
	}
	return challengeOf(d, v), nil
}

func challengeOf(d, v string) *accounts.DomainChallenge {
	token, at, _ := strings.Cut(v, " ")
	c := &accounts.DomainChallenge{Domain: d, TXTName: accounts.DomainChallengeName(d), TXTValue: accounts.VerifyTXTPrefix + token}
	if ms, err := strconv.ParseInt(at, 10, 64); err == nil {
		c.RequestedAt = time.UnixMilli(ms).UTC()
	}
	return c
}

// PendingDomains lists accountID's domain requests, by domain.
func (s *Store) PendingDomains(ctx context.Context, accountID string) ([]accounts.DomainChallenge, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return nil, err
	}
	all, err := s.RDB.HGetAll(ctx, s.Keys.PendingRegs(shard, accountID)).Result()
	if err != nil {
		return nil, fmt.Errorf("pending registrations of %s: %w", accountID, err)
	}
	out := []accounts.DomainChallenge{}
	for k, v := range all {
		if d, ok := strings.CutPrefix(k, "domain:"); ok {
			out = append(out, *challengeOf(d, v))
		}
	}
	slices.SortFunc(out, func(a, b accounts.DomainChallenge) int { return strings.Compare(a.Domain, b.Domain) })
	return out, nil
}

// VerifyDomain checks the TXT record of accountID's pending request for
// domain and, if it holds the token, registers the domain to the account.
// ErrNotFound when there is no such request; ErrVerification (its text says
// what was looked up and found) when the record is missing or holds
// another token; a DNS failure is returned wrapped as it is (try again);
// ErrDomainTaken if another account proved control first;
// ErrForeignAddresses if an account of another tree holds exact addresses
// inside the domain.
//
// lookup resolves TXT records (a *net.Resolver's LookupTXT, or a cache).
func (s *Store) VerifyDomain(ctx context.Context, accountID, domain string, lookup func(ctx context.Context, name string) ([]string, error)) error {
	d, err := RegNormalizeDomain(domain)
	if err != nil {
		return fmt.Errorf("domain %q: %w", domain, accounts.ErrNotFound)
	}
	c, err := s.challenge(ctx, accountID, d)
	if err != nil {
		return err
	}
	txts, err := lookup(ctx, c.TXTName)
	var found []string
	for _, t := range txts {
		if strings.HasPrefix(t, accounts.VerifyTXTPrefix) {
			found = append(found, t)
		}
	}
	switch {
	case err != nil && !isNotFoundDNS(err):
		return fmt.Errorf("verify %s: look up TXT %s: %w", d, c.TXTName, err)
	case slices.Contains(found, c.TXTValue):
	case len(found) == 0:
		return fmt.Errorf("%w: no TXT record %q found at %s; publish it there (DNS changes can take a while to appear) and verify again", accounts.ErrVerification, c.TXTValue, c.TXTName)
	default:
		return fmt.Errorf("%w: the TXT records at %s are %q, none of them %q", accounts.ErrVerification, c.TXTName, found, c.TXTValue)
	}
	return s.claimDomain(ctx, accountID, d)
}

// ApproveDomain registers domain to accountID without a DNS proof: the
// operator vouches for it (smsgate admin domain approve). The same checks
// as VerifyDomain apply otherwise.
func (s *Store) ApproveDomain(ctx context.Context, accountID, domain string) error {
	d, err := RegNormalizeDomain(domain)
	if err != nil {
		return err
	}
	if regIsPublic(d) {
		return fmt.Errorf("domain %s: %w", d, accounts.ErrPublicDomain)
	}
	return s.claimDomain(ctx, accountID, d)
}

// claimDomain registers d to accountID once control is shown: refused if
// another tree holds exact addresses inside it (they would shadow it);
// then the pending request is dropped.
func (s *Store) claimDomain(ctx context.Context, accountID, d string) error {
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return fmt.Errorf("register %s: %w", d, err)
	}
	if n, err := s.foreignAddresses(ctx, acct, d); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("domain %s: %d address(es) inside it: %w", d, n, accounts.ErrForeignAddresses)
	}
	if err := s.AddDomain(ctx, accountID, d); err != nil {
		return err
	}
	return s.dropPendingDomain(ctx, accountID, d)
}

func (s *Store) dropPendingDomain(ctx context.Context, accountID, d string) error {
	shard, _ := s.ShardFromID(accountID)
	if err := s.RDB.HDel(ctx, s.Keys.PendingRegs(shard, accountID), "domain:"+d).Err(); err != nil {
		return fmt.Errorf("register %s: %w", d, err)
	}
	if err := s.RDB.SRem(ctx, s.Keys.PendingDomain(d), accountID).Err(); err != nil {
		return fmt.Errorf("register %s: %w", d, err)
	}
	return nil
}

// foreignAddresses counts the exact addresses at domain d registered to
// accounts outside acct's tree. It scans the address registrations (SCAN
// MATCH on the global address keys of that domain).
func (s *Store) foreignAddresses(ctx context.Context, acct *accounts.Account, d string) (int, error) {
	pattern := s.Keys.Registration("addr", "*@"+escGlob(d))
	var n int
	err := s.ScanKeys(ctx, pattern, func(key string) error {
		owner, err := s.RDB.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		if owner == acct.ID {
			return nil
		}
		same, err := s.sameTree(ctx, acct, owner)
		if err != nil {
			return err
		}
		if !same {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("addresses at %s: %w", d, err)
	}
	return n, nil
}

// escGlob escapes Redis glob characters.
func escGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

// sameTree reports whether account other is acct, its parent, its
// sub-account or its sibling under one root.
func (s *Store) sameTree(ctx context.Context, acct *accounts.Account, other string) (bool, error) {
	root := acct.ID
	if acct.ParentID != "" {
		root = acct.ParentID
	}
	if other == root {
		return true, nil
	}
	o, err := s.GetAccount(ctx, other)
	if errors.Is(err, accounts.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("account %s: %w", other, err)
	}
	return o.ParentID == root, nil
}

// isNotFoundDNS reports a DNS answer of "no such name / no records", as
// opposed to a failure to get an answer.
func isNotFoundDNS(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// RequestAddress registers email to accountID at once when it is inside a
// domain the account's tree has verified (the administrators control it);
// otherwise it records a pending registration and returns a one-time
// confirmation token for the address's owner (the caller mails it; it is
// never shown to the account). The checks of AddAddress apply first.
func (s *Store) RequestAddress(ctx context.Context, accountID, email string) (token string, err error) {
	a, err := accounts.NormalizeAddress(email)
	if err != nil {
		return "", err
	}
	acct, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return "", fmt.Errorf("register %s: %w", a, err)
	}
	if err := s.addrDomainFree(ctx, acct, a); err != nil {
		return "", err
	}
	owner, err := s.RDB.Get(ctx, s.Keys.Registration("addr", a)).Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return "", fmt.Errorf("register %s: %w", a, err)
	case owner == accountID:
		return "", nil
	default:
		return "", fmt.Errorf("address %s: %w", a, accounts.ErrAddressTaken)
	}
	domOwner, err := s.RDB.Get(ctx, s.Keys.Registration("domain", a[strings.LastIndexByte(a, '@')+1:])).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("register %s: %w", a, err)
	}
	if domOwner != "" {
		same, err := s.sameTree(ctx, acct, domOwner)
		if err != nil {
			return "", err
		}
		if same {
			return "", s.AddAddress(ctx, accountID, a)
		}
	}
	token = store.RandomSecret(20)
	exp := s.Now().Add(accounts.AddrConfirmTTL)
	shard, _ := s.ShardFromID(accountID)
	if err := s.RDB.Set(ctx, s.Keys.AddrConfirm(confirmHash(token)), accountID+" "+a, accounts.AddrConfirmTTL).Err(); err != nil {
		return "", fmt.Errorf("register %s: %w", a, err)
	}
	if err := s.RDB.HSet(ctx, s.Keys.PendingRegs(shard, accountID), "addr:"+a, strconv.FormatInt(exp.UnixMilli(), 10)).Err(); err != nil {
		return "", fmt.Errorf("register %s: %w", a, err)
	}
	return token, nil
}

func confirmHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// ConfirmAddress registers the address a confirmation token was mailed to,
// once: the token is consumed. ErrNotFound for an unknown, used or expired
// token. It returns the account and the address.
func (s *Store) ConfirmAddress(ctx context.Context, token string) (accountID, address string, err error) {
	v, err := s.RDB.GetDel(ctx, s.Keys.AddrConfirm(confirmHash(strings.TrimSpace(token)))).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", fmt.Errorf("confirmation token: %w", accounts.ErrNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("confirm address: %w", err)
	}
	accountID, address, _ = strings.Cut(v, " ")
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return "", "", fmt.Errorf("confirmation token: %w", accounts.ErrNotFound)
	}
	// Withdrawn meanwhile (address remove, account deleted): nothing to confirm.
	if ok, err := s.RDB.HExists(ctx, s.Keys.PendingRegs(shard, accountID), "addr:"+address).Result(); err != nil {
		return "", "", fmt.Errorf("confirm address: %w", err)
	} else if !ok {
		return "", "", fmt.Errorf("confirmation token: request withdrawn: %w", accounts.ErrNotFound)
	}
	if err := s.AddAddress(ctx, accountID, address); err != nil {
		return accountID, address, err
	}
	if err := s.RDB.HDel(ctx, s.Keys.PendingRegs(shard, accountID), "addr:"+address).Err(); err != nil {
		return accountID, address, fmt.Errorf("confirm address: %w", err)
	}
	return accountID, address, nil
}

// PendingAddresses lists accountID's address registrations waiting for
// confirmation (expired ones are dropped).
func (s *Store) PendingAddresses(ctx context.Context, accountID string) ([]accounts.PendingAddress, error) {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return nil, err
	}
	key := s.Keys.PendingRegs(shard, accountID)
	all, err := s.RDB.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("pending registrations of %s: %w", accountID, err)
	}
	now := s.Now()
	out := []accounts.PendingAddress{}
	for k, v := range all {
		a, ok := strings.CutPrefix(k, "addr:")
		if !ok {
			continue
		}
		ms, _ := strconv.ParseInt(v, 10, 64)
		exp := time.UnixMilli(ms).UTC()
		if !now.Before(exp) {
			_ = s.RDB.HDel(ctx, key, k).Err() // expired: tidy, best effort
			continue
		}
		out = append(out, accounts.PendingAddress{Address: a, ExpiresAt: exp})
	}
	slices.SortFunc(out, func(a, b accounts.PendingAddress) int { return strings.Compare(a.Address, b.Address) })
	return out, nil
}

// DropPendingRegistrations withdraws all of accountID's pending domain and
// address registrations (a deleted account). Mailed tokens then confirm
// nothing: ConfirmAddress finds no account. Idempotent.
func (s *Store) DropPendingRegistrations(ctx context.Context, accountID string) error {
	shard, err := s.ShardFromID(accountID)
	if err != nil {
		return err
	}
	key := s.Keys.PendingRegs(shard, accountID)
	all, err := s.RDB.HKeys(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("pending registrations: %w", err)
	}
	for _, k := range all {
		if d, ok := strings.CutPrefix(k, "domain:"); ok {
			if err := s.RDB.SRem(ctx, s.Keys.PendingDomain(d), accountID).Err(); err != nil {
				return fmt.Errorf("pending registrations: %w", err)
			}
		}
	}
	if err := s.RDB.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("pending registrations: %w", err)
	}
	return nil
}
