package config

import (
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"

	"github.com/smsgate/smsgate/netguard"
)

// FieldError is one problem with one field, named by its YAML path such as
// "links[1].addr".
type FieldError struct {
	Path string
	Msg  string
}

// Error returns "path: message", or the message alone when no path is known.
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errors is every problem found in a configuration: decode problems in
// document order, or else validation problems section by section.
type Errors []FieldError

// Error lists the problems one per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// checker collects problems.
type checker struct{ errs Errors }

func (c *checker) add(path, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) intRange(path string, v, lo, hi int) {
	if v < lo || v > hi {
		c.add(path, "must be between %d and %d (got %d)", lo, hi, v)
	}
}

func (c *checker) positive(path string, d Duration) {
	if d <= 0 {
		c.add(path, "must be greater than 0 (got %s)", d)
	}
}

func (c *checker) oneOf(path, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.add(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

// hostPort checks a host:port address. Listen addresses may leave the host
// Empty (all interfaces) and use port 0 (any free port); dial addresses may
// not.
func (c *checker) hostPort(path, addr string, listen bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.add(path, "%q is not a host:port address", addr)
		return
	}
	n, err := strconv.Atoi(port)
	switch {
	case err != nil || n < 0 || n > 65535:
		c.add(path, "%q has an invalid port", addr)
	case !listen && n == 0:
		c.add(path, "%q needs a port other than 0", addr)
	case !listen && host == "":
		c.add(path, "%q needs a host", addr)
	}
}

// Validate checks c and returns *Errors listing every problem, or nil. Parts
// that only one role uses are required only while that role is on, but any
// value that is set is checked.
func (c *Config) Validate() error {
	var v checker
	c.validateGeneral(&v)
	c.validateSMTP(&v)
	c.validateDispatch(&v)
	c.validateLinks(&v)
	c.validateDNS(&v)
	if len(v.errs) == 0 {
		return nil
	}
	return &v.errs
}

func (c *Config) validateGeneral(v *checker) {
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "json", "text")
	if !c.Roles.SMTP && !c.Roles.Dispatch && !c.Roles.HTTP {
		v.add("roles", "at least one role must be on")
	}

	r := c.Redis
	if len(r.Cluster.Addrs) > 0 {
		if r.Sentinel.Master != "" {
			v.add("redis.cluster.addrs", "cannot be combined with redis.sentinel.master: a cluster fails over by itself")
		}
		if r.DB != 0 {
			v.add("redis.db", "must be 0 on a Redis Cluster (got %d)", r.DB)
		}
		for i, a := range r.Cluster.Addrs {
			v.hostPort(fmt.Sprintf("redis.cluster.addrs[%d]", i), a, false)
		}
	} else if r.Sentinel.Master == "" {
		switch {
		case r.Addr == "":
			v.add("redis.addr", "required")
		case strings.HasPrefix(r.Addr, "unix:"):
			if !strings.HasPrefix(r.Addr, "unix:/") {
				v.add("redis.addr", "%q: a unix socket needs an absolute path, like unix:/run/redis/redis.sock", r.Addr)
			}
		default:
			v.hostPort("redis.addr", r.Addr, false)
		}
	} else if len(r.Sentinel.Addrs) == 0 {
		v.add("redis.sentinel.addrs", "required when redis.sentinel.master is set")
	}
	for i, a := range r.Sentinel.Addrs {
		v.hostPort(fmt.Sprintf("redis.sentinel.addrs[%d]", i), a, false)
	}
	if r.DB < 0 {
		v.add("redis.db", "must be 0 or more (got %d)", r.DB)
	}
	if r.Shards != 0 { // 0: the default (EffectiveShards)
		v.intRange("redis.shards", r.Shards, 1, 1024)
	}
	if r.PoolSize < 0 {
		v.add("redis.pool_size", "must be 0 (the default) or more (got %d)", r.PoolSize)
	}
	v.positive("redis.timeout", r.Timeout)
	for _, k := range []struct {
		path string
		d    Duration
	}{{"retention.messages", c.Retention.Messages}, {"retention.inbox", c.Retention.Inbox}, {"retention.blocked", c.Retention.Blocked},
		{"retention.ledger", c.Retention.Ledger}, {"retention.webhook_log", c.Retention.WebhookLog}} {
		if k.d < 0 {
			v.add(k.path, "must be 0 (keep for ever) or more (got %s)", k.d)
		}
	}
	v.positive("retention.every", c.Retention.Every)
	v.positive("retention.idempotency", c.Retention.Idempotency)
	v.positive("retention.receipt_index", c.Retention.ReceiptIndex)
	switch st := c.Retention.Statistics; {
	case st.Std() > MaxStatisticsRetention:
		v.add("retention.statistics", "%s is longer than 400d: a day's statistics expire by Redis TTL after 400 days", st)
	case st < c.Retention.ReceiptIndex:
		v.add("retention.statistics", "%s is shorter than retention.receipt_index (%s): a late receipt would count into a day already swept", st, c.Retention.ReceiptIndex)
	}
	if r.MemoryHigh < 0 || r.MemoryHigh >= 1 {
		v.add("redis.memory_high", "must be a share of maxmemory below 1, like 0.9, or 0 to turn the check off (got %g)", r.MemoryHigh)
	}
	if r.MinReplicasAck < 0 {
		v.add("redis.min_replicas_ack", "must be 0 (no waiting) or more (got %d)", r.MinReplicasAck)
	}
	if r.MinReplicasAck > 0 {
		v.positive("redis.replica_ack_timeout", r.ReplicaAckTimeout)
	}

	switch {
	case c.HTTP.Listen != "":
		v.hostPort("http.listen", c.HTTP.Listen, true)
	case c.Roles.HTTP:
		v.add("http.listen", "required when roles.http is on")
	}

	rl := c.Relay
	if rl.Addr != "" {
		v.hostPort("relay.addr", rl.Addr, false)
		if rl.From == "" {
			v.add("relay.from", "required when relay.addr is set")
		}
	}
	if rl.From != "" {
		if _, err := mail.ParseAddress(rl.From); err != nil {
			v.add("relay.from", "%q is not a valid email address", rl.From)
		}
	}
	if rl.Hostname != "" && !validDomain(rl.Hostname) {
		v.add("relay.hostname", "%q is not a valid host name", rl.Hostname)
	}
	v.positive("shutdown.timeout", c.Shutdown.Timeout)
	v.intRange("runtime.gc_percent", c.Runtime.GCPercent, 25, 10000)
}

func (c *Config) validateSMTP(v *checker) {
	s := c.SMTP
	switch {
	case s.Listen != "":
		v.hostPort("smtp.listen", s.Listen, true)
	case c.Roles.SMTP:
		v.add("smtp.listen", "required when roles.smtp is on")
	}
	if s.TLSListen != "" {
		v.hostPort("smtp.tls_listen", s.TLSListen, true)
		if !s.TLS.Enabled() {
			v.add("smtp.tls_listen", "needs smtp.tls.cert_file and smtp.tls.key_file")
		}
	}
	if s.Hostname == "" {
		v.add("smtp.hostname", "required")
	} else if !validDomain(s.Hostname) {
		v.add("smtp.hostname", "%q is not a valid host name", s.Hostname)
	}
	if len(s.Domains) == 0 && c.Roles.SMTP {
		v.add("smtp.domains", "at least one SMS domain is required when roles.smtp is on")
	}
	seen := map[string]int{}
	for i, d := range s.Domains {
		p := fmt.Sprintf("smtp.domains[%d]", i)
		switch {
		case !validDomain(d):
			v.add(p, "%q is not a valid domain name", d)
		case d != strings.ToLower(d):
			v.add(p, "%q must be lower case", d)
		}
		if j, dup := seen[strings.ToLower(d)]; dup {
			v.add(p, "duplicate of smtp.domains[%d]", j)
		} else {
			seen[strings.ToLower(d)] = i
		}
	}
	v.intRange("smtp.max_recipients", s.MaxRecipients, 1, 1000)
	if s.MaxMessageBytes < 1024 {
		v.add("smtp.max_message_bytes", "must be at least 1024 (got %d)", s.MaxMessageBytes)
	}
	v.positive("smtp.read_timeout", s.ReadTimeout)
	v.positive("smtp.write_timeout", s.WriteTimeout)
	v.positive("smtp.command_timeout", s.CommandTimeout)
	if s.SenderCache < 0 {
		v.add("smtp.sender_cache", "must not be negative (0 turns the cache off)")
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		v.add("smtp.tls", "set both cert_file and key_file, or neither")
	}
	if s.RequireTLS && !s.TLS.Enabled() {
		v.add("smtp.require_tls", "needs smtp.tls.cert_file and smtp.tls.key_file")
	}
	c.validatePostmaster(v)
}

// validateDNS checks the resolvers of the sender policy.
func (c *Config) validateDNS(v *checker) {
	for i, s := range c.DNS.Servers {
		v.hostPort(fmt.Sprintf("dns.servers[%d]", i), s, false)
	}
	v.positive("http.read_header_timeout", c.HTTP.ReadHeaderTimeout)
	v.positive("http.read_timeout", c.HTTP.ReadTimeout)
	v.positive("http.write_timeout", c.HTTP.WriteTimeout)
	v.positive("http.idle_timeout", c.HTTP.IdleTimeout)
	for i, k := range c.HTTP.OperatorKeys {
		if h, ok := strings.CutPrefix(k, "sha256:"); !ok || len(h) != 64 || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
			v.add(fmt.Sprintf("http.operator_keys[%d]", i), "must be sha256:<64 hex digits>, the hash `smsgate admin operator-key` prints (never the key itself)")
		}
	}
	if u := c.HTTP.PublicURL; u != "" {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.RawQuery != "" || pu.Fragment != "" {
			v.add("http.public_url", "%q must be an absolute http or https URL without query, like https://sms.example.com", u)
		}
	}
	if _, err := netguard.New(c.Webhooks.AllowInternal); err != nil {
		v.add("webhooks.allow_internal", "%v", err)
	}
	v.positive("inbound.reassembly_wait", c.Inbound.ReassemblyWait)
	v.positive("dns.timeout", c.DNS.Timeout)
	v.positive("dns.cache_ttl", c.DNS.CacheTTL)
	v.positive("dns.negative_cache_ttl", c.DNS.NegativeCacheTTL)
}

// validatePostmaster checks smtp.postmaster: a bare address, outside the
// SMS domains (which would loop), reachable through the relay.
func (c *Config) validatePostmaster(v *checker) {
	pm := c.SMTP.Postmaster
	if pm == "" {
		return
	}
	a, err := mail.ParseAddress(pm)
	if err != nil || a.Address != pm || a.Name != "" {
		v.add("smtp.postmaster", "%q is not a bare email address such as ops@example.net", pm)
		return
	}
	domain := strings.ToLower(pm[strings.LastIndexByte(pm, '@')+1:])
	for i, d := range c.SMTP.Domains {
		if strings.EqualFold(d, domain) {
			v.add("smtp.postmaster", "%q is at an SMS domain (smtp.domains[%d]): mail to it would loop", pm, i)
		}
	}
	if c.Relay.Addr == "" {
		v.add("smtp.postmaster", "needs relay.addr to forward mail to %q", pm)
	}
}

func (c *Config) validateDispatch(v *checker) {
	d := c.Dispatch
	if strings.ContainsAny(d.Consumer, " \t\r\n") {
		v.add("dispatch.consumer", "%q must not contain white space", d.Consumer)
	}
	v.intRange("dispatch.workers", d.Workers, 1, 10000)
	v.intRange("dispatch.batch", d.Batch, 1, 10000)
	v.positive("dispatch.block", d.Block)
	if d.BatchWait < 0 || d.BatchWait > Seconds(1) {
		v.add("dispatch.batch_wait", "%s must be between 0s and 1s (every message may wait that long)", d.BatchWait.Std())
	}
	v.positive("dispatch.claim_idle", d.ClaimIdle)
	r := d.Retry
	v.positive("dispatch.retry.initial", r.Initial)
	if r.Max < r.Initial {
		v.add("dispatch.retry.max", "must be >= dispatch.retry.initial (%s)", r.Initial)
	}
	if r.MaxAttempts < 1 {
		v.add("dispatch.retry.max_attempts", "must be at least 1 (got %d)", r.MaxAttempts)
	}
	if !(r.Jitter >= 0 && r.Jitter <= 1) { // also rejects NaN
		v.add("dispatch.retry.jitter", "must be between 0 and 1 (got %g)", r.Jitter)
	}
	if !validSource(d.DefaultSource) {
		v.add("dispatch.default_source", "%q must be up to 11 letters and digits, or up to 15 digits", d.DefaultSource)
	}
	if len(d.SourcePool) > MaxSourcePool {
		v.add("dispatch.source_pool", "%d numbers; at most %d", len(d.SourcePool), MaxSourcePool)
	}
	seen := map[string]int{}
	for i, n := range d.SourcePool {
		p := fmt.Sprintf("dispatch.source_pool[%d]", i)
		if !digitsRE.MatchString(n) || len(n) < 8 || len(n) > 15 {
			v.add(p, "%q must be a number in international form without '+', 8 to 15 digits (replies come back to it)", n)
		}
		if j, dup := seen[n]; dup {
			v.add(p, "duplicate of dispatch.source_pool[%d]", j)
		}
		seen[n] = i
	}
	for i, id := range d.AllowedSenderIDs {
		if !alnumIDRE.MatchString(id) || len(id) > 11 {
			v.add(fmt.Sprintf("dispatch.allowed_sender_ids[%d]", i), "%q must be 1 to 11 letters and digits with at least one letter (SMPP 3.4 alphanumeric source_addr)", id)
		}
	}
	c.Quotas.Each(func(name string, q int64) {
		if q < 0 || q > accounts.MaxQuota {
			v.add("quotas."+name, "%d must be between 1 and %d (0 or absent: the default)", q, accounts.MaxQuota)
		}
	})
	if d.SourcePoolTTL < 0 {
		v.add("dispatch.source_pool_ttl", "must not be negative (0: the default, 720h)")
	}
}

var (
	linkNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)
	digitsRE   = regexp.MustCompile(`^[0-9]+$`)
	alnumIDRE  = regexp.MustCompile(`^(?i)[a-z0-9]{0,10}[a-z][a-z0-9]{0,10}$`)
	countryRE  = regexp.MustCompile(`^[A-Z]{2}$`)
	alnumRE    = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// SMPP 3.4 §5.2.1-5.2.3: C-Octet strings including their NUL terminator.
const (
	maxSystemID   = 15
	maxPassword   = 8
	maxSystemType = 12
)

func (c *Config) validateLinks(v *checker) {
	if len(c.Links) == 0 && c.Roles.Dispatch {
		v.add("links", "at least one link is required when roles.dispatch is on")
	}
	names := map[string]int{}
	for i, l := range c.Links {
		p := func(f string) string { return fmt.Sprintf("links[%d].%s", i, f) }
		switch {
		case l.Name == "":
			v.add(p("name"), "required")
		case !linkNameRE.MatchString(l.Name):
			v.add(p("name"), "%q may contain only a-z, 0-9, _ and -", l.Name)
		}
		if j, dup := names[l.Name]; dup && l.Name != "" {
			v.add(p("name"), "duplicate of links[%d].name", j)
		} else if !dup {
			names[l.Name] = i
		}
		if l.Addr == "" {
			v.add(p("addr"), "required")
		} else {
			v.hostPort(p("addr"), l.Addr, false)
		}
		switch {
		case l.SystemID == "":
			v.add(p("system_id"), "required")
		case len(l.SystemID) > maxSystemID:
			v.add(p("system_id"), "must be at most %d characters (SMPP 3.4 §5.2.1)", maxSystemID)
		}
		if len(l.Password.Value()) > maxPassword {
			v.add(p("password"), "must be at most %d characters (SMPP 3.4 §5.2.2)", maxPassword)
		}
		if len(l.SystemType) > maxSystemType {
			v.add(p("system_type"), "must be at most %d characters (SMPP 3.4 §5.2.3)", maxSystemType)
		}
		seen := map[string]bool{}
		for j, pre := range l.Prefixes {
			pp := fmt.Sprintf("links[%d].prefixes[%d]", i, j)
			switch {
			case !digitsRE.MatchString(pre) || len(pre) > 15:
				v.add(pp, "%q must be 1 to 15 digits (E.164, no '+')", pre)
			case seen[pre]:
				v.add(pp, "duplicate prefix %q", pre)
			}
			seen[pre] = true
		}
		if l.Priority < 0 {
			v.add(p("priority"), "must be 0 or more (got %d)", l.Priority)
		}
		v.intRange(p("window"), l.Window, 1, 1000)
		if !(l.Rate >= 0) || math.IsInf(l.Rate, 1) {
			v.add(p("rate"), "must be 0 (unlimited) or more (got %g)", l.Rate)
		}
		v.positive(p("enquire_link"), l.EnquireLink)
		v.positive(p("response_timeout"), l.ResponseTimeout)
		if l.Bind != "" {
			v.oneOf(p("bind"), l.Bind, "transceiver", "pair")
		}
		if l.Country != "" && !countryRE.MatchString(l.Country) {
			v.add(p("country"), "%q must be an ISO 3166-1 alpha-2 code in capitals, such as AU", l.Country)
		}
		if l.ReconnectMin < 0 {
			v.add(p("reconnect_min"), "must be 0 (the default, 500ms) or more (got %s)", l.ReconnectMin)
		}
		if l.ReconnectMax < 0 || (l.ReconnectMax > 0 && l.ReconnectMax < l.ReconnectMin) {
			v.add(p("reconnect_max"), "must be 0 (the default, 30s) or at least reconnect_min (%s) (got %s)", l.ReconnectMin, l.ReconnectMax)
		}
		if l.TimeoutsBeforeRebind < 0 {
			v.add(p("timeouts_before_rebind"), "must be 0 (the default, 3) or more (got %d)", l.TimeoutsBeforeRebind)
		}
		if l.OutcomeWait < 0 || (l.OutcomeWait > 0 && l.OutcomeWait < l.ResponseTimeout) {
			v.add(p("outcome_wait"), "must be 0 (6 x response_timeout) or at least response_timeout (%s) (got %s)", l.ResponseTimeout, l.OutcomeWait)
		}
		// A submit still waiting for its response (up to outcome_wait) must
		// not look like the entry of a dead worker, or another worker would
		// send it again.
		if wait := l.EffectiveOutcomeWait(); wait > 0 && c.Dispatch.ClaimIdle > 0 && c.Dispatch.ClaimIdle <= wait {
			v.add("dispatch.claim_idle", "must be greater than %s (%s), or in-flight submits are claimed twice",
				p("outcome_wait"), wait)
		}
	}
}

// validDomain reports whether s is a DNS host name: dot-separated labels of
// letters, digits and hyphens, 1-63 characters each, not starting or ending
// with a hyphen, 253 characters at most. Internationalised names must be
// written in their A-label (xn--) form.
func validDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// validSource reports whether s can be an SMPP source address: an
// alphanumeric sender id of up to 11 characters (the GSM 03.40 limit), or a
// number of up to 15 digits.
func validSource(s string) bool {
	if digitsRE.MatchString(s) {
		return len(s) <= 15
	}
	return alnumRE.MatchString(s) && len(s) <= 11
}
