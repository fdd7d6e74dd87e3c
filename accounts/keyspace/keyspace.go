// Package keyspace names every Redis key of smsgate. It is the only place a
// key name is built: the account store, the webhook service and every other
// package ask a Space for the key they need, so that the keyspace can be read
// (and changed) in one file.
//
// Two families of keys exist:
//
//   - Shard-local keys, <prefix>:{sN}:<kind>:<parts>. Every key of one
//     account tree carries the hash tag of the tree's shard ({sN}), so that
//     one Lua script can debit, write the ledger, store the message and
//     enqueue it atomically, on a single Redis, under Sentinel, or on a Redis
//     Cluster. The shard is named by the ids of the tree (see ShardOf).
//   - Global keys, <prefix>:<kind>:<parts>, used only by single-key
//     operations (the domain registry, API key hashes, SMSC id and
//     conversation indexes), so they need no tag.
//
// Names and shapes are part of the stored data: changing one strands what
// existing deployments wrote under the old name.
package keyspace

import (
	"strconv"
	"strings"
)

// Space builds the key names of one deployment. The zero value is not
// useful: Prefix and Shards come from the store's options.
type Space struct {
	// Prefix starts every key ("smsgate" by default).
	Prefix string
	// Shards is the number of shards, {s0}..{sN-1}.
	Shards int
}

// Tag is the Redis Cluster hash tag of a shard ("{s3}"): every key of one
// account tree contains it, whichever package owns the key.
func Tag(shard int) string { return "{s" + strconv.Itoa(shard) + "}" }

// ShardOf returns the shard named by a sharded id, "<kind><shard>-<random>"
// ("a3-..." is an account of shard 3, "m0-..." a message of shard 0). It does
// not know the deployment's shard count (Space.Shard does); ok is false for a
// malformed id.
func ShardOf(id string) (shard int, ok bool) {
	i := strings.IndexByte(id, '-')
	if i < 2 {
		return 0, false
	}
	for _, c := range id[1:i] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(id[1:i])
	if err != nil {
		return 0, false
	}
	return n, true
}

// Shard returns the shard named by a sharded id; ok is false for a malformed
// id or a shard this deployment does not have.
func (k Space) Shard(id string) (shard int, ok bool) {
	n, ok := ShardOf(id)
	if !ok || n >= k.Shards {
		return 0, false
	}
	return n, true
}

// Skey builds a shard-local key: <prefix>:{sN}:<parts...>, in one
// allocation (keys are built for every message several times over).
func (k Space) skey(shard int, parts ...string) string {
	var num [20]byte
	tag := strconv.AppendInt(num[:0], int64(shard), 10)
	n := len(k.Prefix) + 4 + len(tag) + 1
	for _, p := range parts {
		n += len(p) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(k.Prefix)
	b.WriteString(":{s")
	b.Write(tag)
	b.WriteByte('}')
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// Gkey builds a global key: <prefix>:<parts...>, in one allocation.
func (k Space) gkey(parts ...string) string {
	n := len(k.Prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(k.Prefix)
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// Accounts.

// Account is the hash of account id: <p>:{sN}:acct:<id>.
func (k Space) Account(shard int, id string) string { return k.skey(shard, "acct", id) }

// Subs is the set of the live sub-account ids of parent: <p>:{sN}:subs:<parent>.
func (k Space) Subs(shard int, parent string) string { return k.skey(shard, "subs", parent) }

// DeletedSubs is the set of the deleted sub-account ids of parent: <p>:{sN}:subs_deleted:<parent>.
func (k Space) DeletedSubs(shard int, parent string) string {
	return k.skey(shard, "subs_deleted", parent)
}

// AllAccounts is the set of every top-level account id: <p>:accounts.
func (k Space) AllAccounts() string { return k.gkey("accounts") }

// ShardCount is the string holding the deployment's shard count, written at
// its first start: <p>:shards.
func (k Space) ShardCount() string { return k.gkey("shards") }

// Lease is the string naming the holder of a deployment-wide lease (a job
// that runs on one instance at a time): <p>:lease:<name>.
func (k Space) Lease(name string) string { return k.gkey("lease", name) }

// StatsSwept is the string holding the first statistics day (days since
// the epoch) that the retention sweep has not deleted yet: <p>:stats_swept.
func (k Space) StatsSwept() string { return k.gkey("stats_swept") }

// Bootstrap is the string holding the id of the first account: <p>:bootstrap.
func (k Space) Bootstrap() string { return k.gkey("bootstrap") }

// Money.

// Ledger is the stream of account id's balance movements: <p>:{sN}:ledger:<id>.
func (k Space) Ledger(shard int, id string) string { return k.skey(shard, "ledger", id) }

// LedgerOpening is the hash of account id's opening balance: what its
// compacted ledger entries summed to (amount, balance, upto: the last
// entry folded, count, digest, actor, at): <p>:{sN}:ledger_open:<id>.
func (k Space) LedgerOpening(shard int, id string) string { return k.skey(shard, "ledger_open", id) }

// Prices is the hash of account id's price table (prefix -> price): <p>:{sN}:prices:<id>.
func (k Space) Prices(shard int, id string) string { return k.skey(shard, "prices", id) }

// Stats is the counter hash of one account and day (days since the epoch): <p>:{sN}:stats:<acct>:<day>.
func (k Space) Stats(shard int, acct string, day int64) string {
	return k.skey(shard, "stats", acct, strconv.FormatInt(day, 10))
}

// LimitMinute counts an account's messages per sender in one UTC clock
// minute (unix ms / 60000) for its per-minute limit: a hash of sender to
// count, expiring after two minutes.
func (k Space) LimitMinute(shard int, acct string, minute int64) string {
	return k.skey(shard, "limm", acct, strconv.FormatInt(minute, 10))
}

// LimitDay counts an account's parts ("p") and spend ("s") of one UTC day
// (unix ms / 86400000) for its daily limits, expiring after two days.
func (k Space) LimitDay(shard int, acct string, day int64) string {
	return k.skey(shard, "limd", acct, strconv.FormatInt(day, 10))
}

// Messages.

// Queue is the dispatch stream of a shard: <p>:{sN}:queue.
func (k Space) Queue(shard int) string { return k.skey(shard, "queue") }

// Retry is the zset of a shard's messages waiting for a retry (id -> due unix ms): <p>:{sN}:retry.
func (k Space) Retry(shard int) string { return k.skey(shard, "retry") }

// Parked is the zset of messages waiting for a carrier link to bind
// (message id -> parked at, unix ms): <p>:{sN}:parked. Waiting there uses
// no attempt; a bind releases them all.
func (k Space) Parked(shard int) string { return k.skey(shard, "parked") }

// MessageStream is account acct's message log: a stream whose entries
// (field i: message ids, comma-separated, oldest first: the messages of
// one creation time accepted in one call; entries of earlier releases
// hold one) are added at acceptance, the entry id's time their creation
// (unix ms; a later one when the stream already holds a later entry):
// <p>:{sN}:mlog:<acct>.
func (k Space) MessageStream(shard int, acct string) string { return k.skey(shard, "mlog", acct) }

// MessageLog is the message log of releases before MessageStream: a zset
// of account acct's message ids by creation time, still read and expired
// (never written): <p>:{sN}:msgs:<acct>.
func (k Space) MessageLog(shard int, acct string) string { return k.skey(shard, "msgs", acct) }

// Message is the hash of message id: <p>:{sN}:msg:<id>. The id is the
// key's (records of earlier releases also hold it as a field). Counters
// that start at zero (attempts, delivered_parts) are absent until counted,
// and coding when 0: an absent field reads as 0 (memory: a queued message
// holds none of them).
func (k Space) Message(shard int, id string) string { return k.skey(shard, "msg", id) }

// IdempotencyBucket is one hash of the idempotency index: field the first
// 16 bytes of a submission's digest (SHA-256 of its account and idempotency
// key), value the message ids it created. A bucket holds the submissions of
// one period (epoch, in units of half the idempotency window) whose digest
// starts with slot (its first 12 bits, three hex digits), so that a bucket
// stays small enough for Redis's compact hash encoding and expires as a
// whole: <p>:{sN}:idem:<epoch>:<slot>.
func (k Space) IdempotencyBucket(shard int, epoch int64, slot uint16) string {
	const hexdig = "0123456789abcdef"
	s := [3]byte{hexdig[slot>>8&0xf], hexdig[slot>>4&0xf], hexdig[slot&0xf]}
	return k.skey(shard, "idem", strconv.FormatInt(epoch, 10), string(s[:]))
}

// Idempotency is the string of the message ids one submission created (hex
// SHA-256 of its idempotency key): <p>:{sN}:idem:<acct>:<sum>. The index of
// releases before the buckets (IdempotencyBucket); accept still reads it, so
// that a retry of a mail accepted before an upgrade stays a retry until the
// last such key has expired (retention.idempotency).
func (k Space) Idempotency(shard int, acct, sum string) string {
	return k.skey(shard, "idem", acct, sum)
}

// DeliveredParts is the set of the parts of message id reported delivered: <p>:{sN}:dlr:<id>.
func (k Space) DeliveredParts(shard int, id string) string { return k.skey(shard, "dlr", id) }

// Blocked is the zset of account acct's messages blocked by an opt-out: <p>:{sN}:blocked:<acct>.
func (k Space) Blocked(shard int, acct string) string { return k.skey(shard, "blocked", acct) }

// SMSCMessage is the string mapping an SMSC's message id to ours: <p>:smsc:<link>:<smsc id>.
func (k Space) SMSCMessage(link, smscID string) string { return k.gkey("smsc", link, smscID) }

// Conversation is the string holding the last message id from our number
// from to the recipient to: <p>:conv:<from>:<to>.
func (k Space) Conversation(from, to string) string { return k.gkey("conv", from, to) }

// Inbox.

// Reply is the hash of inbound reply id: <p>:{sN}:reply:<id>.
func (k Space) Reply(shard int, id string) string { return k.skey(shard, "reply", id) }

// Inbox is the zset of the reply ids of inbox (an account id, or the
// unrouted inbox) by arrival time: <p>:{sN}:inbox:<inbox>.
func (k Space) Inbox(shard int, inbox string) string { return k.skey(shard, "inbox", inbox) }

// Senders and registrations.

// Number is the string holding the owner of a dedicated number (E.164 digits): <p>:number:<digits>.
func (k Space) Number(digits string) string { return k.gkey("number", digits) }

// Numbers is the set of account acct's dedicated numbers: <p>:{sN}:numbers:<acct>.
func (k Space) Numbers(shard int, acct string) string { return k.skey(shard, "numbers", acct) }

// SenderIDs is the hash of account acct's alphanumeric sender ids (folded -> as typed): <p>:{sN}:senderids:<acct>.
func (k Space) SenderIDs(shard int, acct string) string { return k.skey(shard, "senderids", acct) }

// SenderGrants is the hash of the alphanumeric sender ids the operator
// approved for a root account and its sub-accounts (folded id -> id as
// given): <p>:{sN}:sendergrants:<root>.
func (k Space) SenderGrants(shard int, root string) string {
	return k.skey(shard, "sendergrants", root)
}

// PoolOwner is the string naming who ("<acct> <sender>") holds the
// conversation between the shared pool number and phone:
// <p>:pool:{<phone>}:n:<number>. The phone's hash tag keeps every pool key
// of one phone in one cluster slot, so one script picks among them.
func (k Space) PoolOwner(phone, number string) string {
	return k.gkey("pool", "{"+phone+"}", "n", number)
}

// PoolSticky is the pool number last picked for owner (a hash of
// "<acct> <sender>") texting phone: <p>:pool:{<phone>}:s:<owner>.
func (k Space) PoolSticky(phone, owner string) string {
	return k.gkey("pool", "{"+phone+"}", "s", owner)
}

// MOParts is the hash of the parts received so far of one concatenated
// reply ("p<seq>" -> raw body, "c" coding, "first" unix ms), keyed by the
// phone, our number, the reference and the part count, not by link:
// parts may come over different binds and instances.
// <p>:mo:{<from>}:<to>:<ref>:<total>. MODone marks it delivered (late
// duplicates are dropped). MOIndex is the zset of open assemblies by first
// part (unix ms), for the sweep of incomplete ones.
func (k Space) MOParts(from, to string, ref uint16, total int) string {
	return k.gkey("mo", "{"+from+"}", to, strconv.Itoa(int(ref)), strconv.Itoa(total))
}

// MODone: see MOParts.
func (k Space) MODone(from, to string, ref uint16, total int) string {
	return k.MOParts(from, to, ref, total) + ":done"
}

// MOIndex: see MOParts.
func (k Space) MOIndex() string { return k.gkey("mo", "index") }

// HeldReceipts is the hash of delivery receipts whose message was not
// found yet (they can overtake the recording of their submit): field
// <link>\x00<canonical smsc id>, value the receipt and its deadline (JSON).
// Held in Redis, acknowledged to the carrier only once written here.
func (k Space) HeldReceipts() string { return k.gkey("receipts", "held") }

// Registration is the string holding the account that registered a sender
// domain (kind "domain") or address (kind "addr"): <p>:<kind>:<value>.
func (k Space) Registration(kind, value string) string { return k.gkey(kind, value) }

// PendingDomain is the set of accounts that asked to register domain and
// have not proved control yet: <p>:pendingdomain:<domain>.
func (k Space) PendingDomain(domain string) string { return k.gkey("pendingdomain", domain) }

// PendingRegs is the hash of account acct's pending registrations
// ("domain:<d>" -> verification token, "addr:<a>" -> confirmation expiry
// in ms): <p>:{sN}:regpend:<acct>.
func (k Space) PendingRegs(shard int, acct string) string { return k.skey(shard, "regpend", acct) }

// AddrConfirm is the string "<acct> <address>" a mailed confirmation token
// (by its SHA-256) confirms, with a TTL: <p>:addrconfirm:<hash>.
func (k Space) AddrConfirm(tokenHash string) string { return k.gkey("addrconfirm", tokenHash) }

// Registrations is the set of account acct's registrations ("<kind>:<value>"): <p>:{sN}:regs:<acct>.
func (k Space) Registrations(shard int, acct string) string { return k.skey(shard, "regs", acct) }

// Users, members, invitations and API keys.

// User is the hash of user id: <p>:user:<id>.
func (k Space) User(id string) string { return k.gkey("user", id) }

// UserByEmail is the string holding the id of the user with a (folded) email: <p>:user:email:<email>.
func (k Space) UserByEmail(email string) string { return k.gkey("user", "email", email) }

// UserAccounts is the set of the account ids user id is a member of: <p>:user:accts:<id>.
func (k Space) UserAccounts(id string) string { return k.gkey("user", "accts", id) }

// LoginFailures is the counter of recent failed logins of a (folded) email: <p>:login:fail:<email>.
func (k Space) LoginFailures(email string) string { return k.gkey("login", "fail", email) }

// LoginSourceFailures is the counter of recent failed logins from one
// source address: <p>:login:srcfail:<source>.
func (k Space) LoginSourceFailures(src string) string { return k.gkey("login", "srcfail", src) }

// LoginKnownSources is the hash of the sources a (folded) email logged in
// from, to the time (unix ms): <p>:login:known:<email>.
func (k Space) LoginKnownSources(email string) string { return k.gkey("login", "known", email) }

// Members is the hash of account acct's members (user id -> role): <p>:{sN}:members:<acct>.
func (k Space) Members(shard int, acct string) string { return k.skey(shard, "members", acct) }

// Memberships is the hash of account acct's membership tags (user id -> tag): <p>:{sN}:memberships:<acct>.
func (k Space) Memberships(shard int, acct string) string {
	return k.skey(shard, "memberships", acct)
}

// Owner is the string holding the user id of account acct's owner: <p>:{sN}:owner:<acct>.
func (k Space) Owner(shard int, acct string) string { return k.skey(shard, "owner", acct) }

// Invitation is the hash of invitation id: <p>:{sN}:inv:<id>.
func (k Space) Invitation(shard int, id string) string { return k.skey(shard, "inv", id) }

// Invitations is the zset of account acct's pending invitations (id -> expiry unix ms): <p>:{sN}:invs:<acct>.
func (k Space) Invitations(shard int, acct string) string { return k.skey(shard, "invs", acct) }

// InvitationsByEmail is the hash of account acct's pending invitations by
// email (email -> "<id> <expiry ms>"): <p>:{sN}:invemail:<acct>.
func (k Space) InvitationsByEmail(shard int, acct string) string {
	return k.skey(shard, "invemail", acct)
}

// APIKey is the hash of API key id: <p>:key:<id>.
func (k Space) APIKey(id string) string { return k.gkey("key", id) }

// APIKeys is the set of account acct's API key ids: <p>:{sN}:keys:<acct>.
func (k Space) APIKeys(shard int, acct string) string { return k.skey(shard, "keys", acct) }

// UserAPIKeys is the set of the API key ids of one member of account acct: <p>:{sN}:ukeys:<acct>:<user>.
func (k Space) UserAPIKeys(shard int, acct, user string) string {
	return k.skey(shard, "ukeys", acct, user)
}

// CreatedKeys is the set of the ids of the account API keys that a member
// of account acct created (through that membership): <p>:{sN}:ckeys:<acct>:<user>.
// Removing the member revokes them.
func (k Space) CreatedKeys(shard int, acct, user string) string {
	return k.skey(shard, "ckeys", acct, user)
}

// Contacts and groups.

// Contact is the hash of contact id: <p>:{sN}:contact:<id>.
func (k Space) Contact(shard int, id string) string { return k.skey(shard, "contact", id) }

// ContactNumbers is the zset (lex order, score 0) of account acct's contact numbers: <p>:{sN}:contacts:<acct>.
func (k Space) ContactNumbers(shard int, acct string) string { return k.skey(shard, "contacts", acct) }

// ContactByNumber is the hash of account acct's contacts by number (number -> contact id): <p>:{sN}:contactnum:<acct>.
func (k Space) ContactByNumber(shard int, acct string) string {
	return k.skey(shard, "contactnum", acct)
}

// ContactGroups is the set of the group ids contact id belongs to: <p>:{sN}:cgroups:<id>.
func (k Space) ContactGroups(shard int, id string) string { return k.skey(shard, "cgroups", id) }

// Group is the hash of group id: <p>:{sN}:group:<id>.
func (k Space) Group(shard int, id string) string { return k.skey(shard, "group", id) }

// Groups is the hash of account acct's groups (normalised name -> group id): <p>:{sN}:groups:<acct>.
func (k Space) Groups(shard int, acct string) string { return k.skey(shard, "groups", acct) }

// GroupMembers is the set of the contact ids of group id: <p>:{sN}:gmembers:<id>.
func (k Space) GroupMembers(shard int, id string) string { return k.skey(shard, "gmembers", id) }

// SharedGroups is the set of the group ids shared with sub-account acct: <p>:{sN}:sharedgroups:<acct>.
func (k Space) SharedGroups(shard int, acct string) string {
	return k.skey(shard, "sharedgroups", acct)
}

// Rules: opt-outs, templates, automations, reply rules.

// OptOut is the hash of account acct's opt-out list (number -> JSON record): <p>:{sN}:optout:<acct>.
func (k Space) OptOut(shard int, acct string) string { return k.skey(shard, "optout", acct) }

// StopRule is the hash of account acct's Stop rule: <p>:{sN}:stoprule:<acct>.
func (k Space) StopRule(shard int, acct string) string { return k.skey(shard, "stoprule", acct) }

// Templates is the hash of account acct's templates (id -> JSON): <p>:{sN}:tpl:<acct>.
func (k Space) Templates(shard int, acct string) string { return k.skey(shard, "tpl", acct) }

// TemplateNames is the hash of account acct's template names (folded name -> id): <p>:{sN}:tplname:<acct>.
func (k Space) TemplateNames(shard int, acct string) string { return k.skey(shard, "tplname", acct) }

// Automations is the hash of account acct's automation rules (id -> JSON): <p>:{sN}:automations:<acct>.
func (k Space) Automations(shard int, acct string) string {
	return k.skey(shard, "automations", acct)
}

// AutomationWindow is the string (with a TTL) that marks automation rule
// rule as having fired for phone within its window: <p>:{sN}:autoonce:<rule>:<phone>.
func (k Space) AutomationWindow(shard int, rule, phone string) string {
	return k.skey(shard, "autoonce", rule, phone)
}

// AutomationHour is the counter of account acct's automation sends in one
// hour (hours since the epoch): <p>:{sN}:autocap:<acct>:<hour>.
func (k Space) AutomationHour(shard int, acct string, hour int64) string {
	return k.skey(shard, "autocap", acct, strconv.FormatInt(hour, 10))
}

// ReplyRules is the hash of account acct's inbox reply rules: <p>:{sN}:replyrules:<acct>.
func (k Space) ReplyRules(shard int, acct string) string { return k.skey(shard, "replyrules", acct) }

// Webhooks.

// Webhooks is the hash of account acct's webhooks (id -> JSON record): <p>:{sN}:wh:<acct>.
func (k Space) Webhooks(shard int, acct string) string { return k.skey(shard, "wh", acct) }

// WebhookSecrets is the hash of account acct's webhook signing secrets (id -> secret): <p>:{sN}:whsec:<acct>.
func (k Space) WebhookSecrets(shard int, acct string) string { return k.skey(shard, "whsec", acct) }

// WebhookLog is the list of webhook id's last delivery attempts (JSON), newest first: <p>:{sN}:whlog:<id>.
func (k Space) WebhookLog(shard int, id string) string { return k.skey(shard, "whlog", id) }

// WebhookQueue is the stream of a shard's webhook deliveries due now: <p>:{sN}:whq.
func (k Space) WebhookQueue(shard int) string { return k.skey(shard, "whq") }

// WebhookRetry is the zset of a shard's webhook deliveries waiting for a retry (id -> due unix ms): <p>:{sN}:whretry.
func (k Space) WebhookRetry(shard int) string { return k.skey(shard, "whretry") }

// WebhookDeliveries is the hash of a shard's pending webhook deliveries (id -> payload): <p>:{sN}:whd.
func (k Space) WebhookDeliveries(shard int) string { return k.skey(shard, "whd") }
