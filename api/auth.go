package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// action is what a request does to its target account; authorize decides
// from it, the caller's key and account, and the target alone.
type action int

// Actions. The first five are coarse, each covering several rights; the
// others name one right of a role or one permission flag each.
// Every action has one row in the table of ruleOf.
const (
	// actRead reads an account, its registrations and messages: any member;
	// the parent's administrators on a child.
	actRead action = iota
	// actManage changes registrations, keys and settings: sub_admin and up;
	// the parent's administrators on a child.
	actManage
	// actPrice changes price_per_part, the price table, the billing mode and
	// the credit limit: on a sub-account its parent's administrators; on a
	// root only the operator (smsgate admin billing), since what a root pays
	// and the credit it gets are what the operator sells it. A sub-account
	// never sets its own price.
	actPrice
	// actFinance credits, debits, activates or deactivates a sub-account:
	// only its parent's administrators. A sub-account can never credit
	// itself, and a root cannot deactivate itself.
	actFinance
	// actCreateSub creates a sub-account under target: a parent_admin of
	// target, which must be a root account (nesting is one level deep).
	actCreateSub

	actProfile          // rename, contact email (flag profile_edit)
	actSettings         // messaging settings (flag settings)
	actRegistrations    // email-to-SMS domains and addresses
	actKeys             // API keys
	actWebhooks         // webhooks
	actUsersView        // list members: advanced and up
	actUsersManage      // invite, remove, change roles, switch owner
	actPermissionsSelf  // switch own flags within what was granted (flag modify_users)
	actPermissionsGrant // set a sub-account's granted flags: its parent's admins
	actSubStatus        // activate, deactivate a sub-account: its parent's admins
	actDelete           // delete a sub-account: its parent's admins
	actTopUp            // pull credit from the parent (flag top_up)
	actLedger           // ledger and its export (flag finance)
	actPricesView       // prices (flag prices; refused under hide_pricing)
	actSend             // send messages (flag access_sms; send_bulk, global_sending checked at accept)
	actMessages         // message log (basic: own messages only; reporting_all: siblings too)
	actMessagesExport   // message log CSV (not basic; flag analytics_export)
	actInbox            // inbox (basic: replies to own messages; flag incoming_sms)
	actInboxExport      // inbox CSV (flag incoming_sms_export)
	actBlocked          // blocked messages (flag blocked_sms)
	actBlockedExport    // blocked CSV (flag blocked_sms_export)
	actStats            // statistics (basic: own; flag analytics; reporting_all: siblings too)
	actStatsExport      // statistics CSV (flag analytics_export)
	actContacts         // contacts and groups (flag use_database)
	actResubscribe      // resubscribe an opted-out number: sub_admin
	actAutomation       // automation rules: sub_admin
	actTemplates        // create, change, delete its templates: sub_admin (reading them is actRead)
	actSenderView       // its numbers and sender ids (flag sender_view)
	actSenders          // assign numbers and operator-approved sender ids: a root's parent_admin, on the root or a sub
	actShareGroups      // share a root's groups with its sub-accounts: the root's parent_admin
	actLimits           // sending limits, auto-recharge, low-balance threshold: a root's parent_admin, a sub's parent's

	actLast = actLimits // the last action, for tests that walk them all
)

// rule is one row of the authorisation table.
type rule struct {
	// min is the least role a member of the target account itself needs;
	// "" means its own members may never do it.
	min accounts.Role
	// flag is the permission flag the target must have in force when it is
	// A sub-account and the caller is one of its own members.
	flag string
	// parent: a parent_admin of the target's parent may do it on the
	// sub-account (parent administrators create and manage sub-accounts,
	// report on them and see all their activity).
	parent bool
	// rootOnly: the target must be a root account.
	rootOnly bool
	// sibling: a sub-account member whose own account has reporting_all may
	// do it on a sibling sub-account of the same parent (reporting on the
	// history of all sub-accounts); read-only actions only.
	sibling bool
	// operator: on a root account only the operator may do it (through
	// smsgate admin), never the root's own members.
	operator bool
	// own: the basic role's own-data rule: a basic user sees only what they
	// sent, the replies to it and their own statistics (ownOnly).
	own bool
	// moneyOnly: what it answers is money and nothing else (prices, the
	// ledger), so a sub-account's own members are refused it while
	// hide_pricing is in force. Every other answer to them goes without its
	// money members (pricingWriter): hide_pricing applies to every route.
	moneyOnly bool
}

// ruleOf is the authorisation table: exactly the rights of each role, the
// permission flags where they apply, and what the parent's
// administrators may do on a child.
//
//	parent admin: create and manage sub-accounts, invite users to the parent
//	  and the subs, billing data, prepaid top-ups, share groups, report on subs
//	sub admin:    invite users, account settings, email-to-SMS registrations,
//	  resubscribe, API keys, webhooks, automation rules
//	advanced:     send, report on account usage, inbox, groups and contacts,
//	  view users
//	basic:        send, inbox of own replies, own reports, no export
func ruleOf(a action) (rule, bool) {
	const (
		parentAdmin = accounts.RoleParentAdmin
		subAdmin    = accounts.RoleSubAdmin
		advanced    = accounts.RoleAdvanced
		basic       = accounts.RoleBasic
	)
	switch a {
	case actRead:
		return rule{min: basic, parent: true}, true
	case actManage:
		return rule{min: subAdmin, parent: true}, true
	case actPrice:
		return rule{parent: true, operator: true}, true
	case actLimits:
		// Only roots have parent_admin members: on a sub, the parent's.
		return rule{min: parentAdmin, parent: true}, true
	case actFinance, actPermissionsGrant, actSubStatus, actDelete:
		return rule{parent: true}, true
	case actCreateSub:
		return rule{min: parentAdmin, rootOnly: true}, true
	case actProfile:
		return rule{min: subAdmin, flag: accounts.FlagProfileEdit, parent: true}, true
	case actSettings:
		return rule{min: subAdmin, flag: accounts.FlagSettings, parent: true}, true
	case actRegistrations, actKeys, actWebhooks, actUsersManage, actResubscribe, actAutomation, actTemplates:
		return rule{min: subAdmin, parent: true}, true
	case actUsersView:
		return rule{min: advanced, parent: true}, true
	case actPermissionsSelf:
		return rule{min: subAdmin, flag: accounts.FlagModifyUsers}, true
	case actTopUp:
		return rule{min: subAdmin, flag: accounts.FlagTopUp, parent: true}, true
	case actLedger:
		return rule{min: subAdmin, flag: accounts.FlagFinance, parent: true, moneyOnly: true}, true
	case actPricesView:
		return rule{min: basic, flag: accounts.FlagPrices, parent: true, moneyOnly: true}, true
	case actSend:
		// The parent's admins send as the parent, not as a child.
		return rule{min: basic, flag: accounts.FlagAccessSMS}, true
	case actMessages:
		return rule{min: basic, parent: true, sibling: true, own: true}, true
	case actStats:
		return rule{min: basic, flag: accounts.FlagAnalytics, parent: true, sibling: true, own: true}, true
	case actMessagesExport, actStatsExport:
		return rule{min: advanced, flag: accounts.FlagAnalyticsExport, parent: true}, true
	case actInbox:
		return rule{min: basic, flag: accounts.FlagIncomingSMS, parent: true, own: true}, true
	case actInboxExport:
		return rule{min: advanced, flag: accounts.FlagIncomingSMSExport, parent: true}, true
	case actBlocked:
		return rule{min: advanced, flag: accounts.FlagBlockedSMS, parent: true}, true
	case actBlockedExport:
		return rule{min: advanced, flag: accounts.FlagBlockedSMSExport, parent: true}, true
	case actContacts:
		return rule{min: advanced, flag: accounts.FlagUseDatabase, parent: true}, true
	case actSenderView:
		return rule{min: basic, flag: accounts.FlagSenderView, parent: true}, true
	case actSenders:
		// Operators allocate numbers to roots; a root's parent_admin hands
		// them (and sender ids) to the root itself or its subs.
		return rule{min: parentAdmin, parent: true}, true
	case actShareGroups:
		return rule{min: parentAdmin, rootOnly: true}, true
	}
	return rule{}, false
}

// Errors of authorize. errHidden becomes a 404 so that another tenant's
// account is indistinguishable from one that does not exist; errForbidden
// (matched by every *denial) a 403.
var (
	errHidden    = errors.New("not visible to this key")
	errForbidden = errors.New("not permitted for this key")
)

// denial is a 403 with its reason ("permission flag analytics_export is
// not enabled for account a0-x"). errors.Is(d, errForbidden) holds.
type denial struct{ why string }

func (d *denial) Error() string             { return d.why }
func (d *denial) Is(target error) bool      { return target == errForbidden }
func deny(format string, args ...any) error { return &denial{why: fmt.Sprintf(format, args...)} }

// rank orders roles; a higher rank may do everything a lower one may.
func rank(r accounts.Role) int {
	switch r {
	case accounts.RoleParentAdmin:
		return 4
	case accounts.RoleSubAdmin:
		return 3
	case accounts.RoleAdvanced:
		return 2
	case accounts.RoleBasic:
		return 1
	}
	return 0
}

// effectiveRole is key's role in acct: parent_admin exists only in root
// accounts, so a sub-account member holding it counts as sub_admin.
func effectiveRole(key *accounts.APIKey, acct *accounts.Account) accounts.Role {
	if key.Role == accounts.RoleParentAdmin && acct.ParentID != "" {
		return accounts.RoleSubAdmin
	}
	return key.Role
}

// authorize is the one authorisation decision of the API: may key, which
// belongs to keyAcct, perform act on target? It returns nil, errHidden
// (the target is outside what the key can see: answer 404) or an error
// matching errForbidden (visible but not allowed: answer 403, with the
// reason).
//
// A key sees its own account; a parent_admin key of a root account also
// sees that root's sub-accounts; a sub-account key whose account has
// reporting_all also sees its siblings, for reporting only. Everything else
// is hidden.
func authorize(key *accounts.APIKey, keyAcct, target *accounts.Account, act action) error {
	if key == nil || keyAcct == nil || target == nil || key.AccountID != keyAcct.ID {
		return errHidden
	}
	r, ok := ruleOf(act)
	role := effectiveRole(key, keyAcct)
	switch {
	case target.ID == keyAcct.ID: // a member of the target itself
		switch {
		case !ok:
			return deny("no key may %s", act)
		case r.rootOnly && target.ParentID != "":
			return deny("%s is a sub-account; only a parent account may %s", target.ID, act)
		case r.operator && target.ParentID == "":
			return deny("only the operator may %s of parent account %s (smsgate admin billing)", act, target.ID)
		case r.min == "":
			return deny("only the parent account's administrators may %s", act)
		case rank(role) < rank(r.min):
			return deny("key %s (role %s) may not %s: it needs role %s or higher", key.ID, role, act, r.min)
		case target.ParentID == "":
			return nil // a root has every flag
		case r.flag != "" && !target.Can(r.flag):
			return deny("key %s may not %s: permission flag %s is not enabled for sub-account %s", key.ID, act, r.flag, target.ID)
		case r.moneyOnly && target.Can(accounts.FlagHidePricing):
			return deny("key %s may not %s: pricing is hidden from sub-account %s (permission flag %s)", key.ID, act, target.ID, accounts.FlagHidePricing)
		}
		return nil
	case keyAcct.ParentID == "" && target.ParentID == keyAcct.ID: // the target's parent
		switch {
		case role != accounts.RoleParentAdmin:
			return errHidden
		case !ok || !r.parent:
			return deny("key %s of parent account %s may not %s on sub-account %s", key.ID, keyAcct.ID, act, target.ID)
		}
		return nil
	case keyAcct.ParentID != "" && target.ParentID == keyAcct.ParentID && keyAcct.Can(accounts.FlagReportingAll): // a sibling
		switch {
		case !ok || !r.sibling:
			return deny("key %s may only report on sibling sub-account %s (permission flag %s), not %s", key.ID, target.ID, accounts.FlagReportingAll, act)
		case rank(role) < rank(r.min):
			return deny("key %s (role %s) may not %s: it needs role %s or higher", key.ID, role, act, r.min)
		case r.flag != "" && !keyAcct.Can(r.flag):
			return deny("key %s may not %s: permission flag %s is not enabled for sub-account %s", key.ID, act, r.flag, keyAcct.ID)
		}
		return nil
	}
	return errHidden
}

// authorizeP is authorize for the caller of a request.
func authorizeP(p principal, target *accounts.Account, act action) error {
	return authorize(p.key, p.acct, target, act)
}

// ownOnly returns the sender address that limits what p sees under act: a
// basic user sees only their own messages, the replies to them and their own
// statistics. Empty means no limit.
func ownOnly(p principal, act action) string {
	if r, _ := ruleOf(act); r.own && p.key != nil && p.key.Role == accounts.RoleBasic {
		// basic is a user's role: an account key with it never gets here
		// (authenticate refuses it). Should one, it sees nothing.
		if p.key.UserEmail == "" {
			return "\x00nobody"
		}
		return p.key.UserEmail
	}
	return ""
}

// AuthStore is what authentication and authorisation need of the account
// store: resolving an API key (an account key, or a user's session key from
// POST /v1/auth/login) and loading the accounts that authorize decides on.
type AuthStore interface {
	Authenticate(ctx context.Context, secret string) (*accounts.APIKey, error)
	GetAccount(ctx context.Context, id string) (*accounts.Account, error)
}

// principal is the authenticated caller of a request.
type principal struct {
	key  *accounts.APIKey
	acct *accounts.Account
}

type principalKey struct{}

// principalFrom returns the caller stored by authenticate.
func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// authenticate wraps h: it requires "Authorization: Bearer <secret>",
// resolves the key and its account, and stores them in the context.
// Without an AuthStore it answers 503.
func (s *server) authenticate(h http.Handler) http.Handler {
	if s.auth == nil {
		return unserved("authenticated")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			s.unauthorized(w, "authorization: a bearer API key is required")
			return
		}
		key, err := s.auth.Authenticate(r.Context(), secret)
		switch {
		case errors.Is(err, accounts.ErrBadKey), errors.Is(err, accounts.ErrNotFound):
			s.unauthorized(w, "authorization: the API key is invalid or revoked")
			return
		case errors.Is(err, accounts.ErrDeactivated):
			writeProblem(w, forbidden("authorization: the key's account is deactivated"))
			return
		case err != nil:
			writeProblem(w, s.toProblem(r.Context(), err, "api key", ""))
			return
		}
		if key.Scope == "" && key.UserID == "" && key.Role == accounts.RoleBasic {
			// Made before basic became a user's role: it would read every
			// message of the account, since the own-data rule needs a user.
			writeProblem(w, problemf(http.StatusForbidden, "basic-account-key", "authorization: key %s is an account key with role basic, which only users have now; create an advanced key or invite the user, and revoke this one", key.ID))
			return
		}
		if key.Scope == accounts.ScopeSMTPRelay {
			writeProblem(w, problemf(http.StatusForbidden, "relay-key", "authorization: key %s is an SMTP relay credential: it authenticates mail relays (SMTP AUTH) only, not API calls", key.ID))
			return
		}
		acct, err := s.auth.GetAccount(r.Context(), key.AccountID)
		if errors.Is(err, accounts.ErrNotFound) {
			s.unauthorized(w, "authorization: the API key's account no longer exists")
			return
		}
		if err != nil {
			writeProblem(w, s.toProblem(r.Context(), err, "account", key.AccountID))
			return
		}
		if acct.Status == accounts.StatusDeactivated {
			writeProblem(w, forbidden("authorization: account %s is deactivated", acct.ID))
			return
		}
		p := principal{key: key, acct: acct}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		if hidesPricing(p) {
			w = &pricingWriter{w}
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *server) unauthorized(w http.ResponseWriter, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="smsgate"`)
	writeProblem(w, problemf(http.StatusUnauthorized, "unauthorized", "%s", detail))
}

// bearer extracts the token of an RFC 6750 Authorization header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// target loads the account named by the request's {id} and authorises act
// on it. A hidden account reads as not found.
func (s *server) target(r *http.Request, act action) (principal, *accounts.Account, error) {
	p := principalFrom(r.Context())
	id := r.PathValue("id")
	acct, err := s.account(r.Context(), p, id)
	if err != nil {
		return p, nil, err
	}
	if err := s.allow(p, acct, act); err != nil {
		return p, nil, err
	}
	return p, acct, nil
}

// account loads id, returning the caller's own account without a lookup.
func (s *server) account(ctx context.Context, p principal, id string) (*accounts.Account, error) {
	if id == p.acct.ID {
		return p.acct, nil
	}
	acct, err := s.auth.GetAccount(ctx, id)
	if err != nil {
		return nil, s.toProblem(ctx, err, "account", id)
	}
	return acct, nil
}

// allow runs authorize and turns its answer into a problem.
func (s *server) allow(p principal, acct *accounts.Account, act action) error {
	var d *denial
	switch err := authorize(p.key, p.acct, acct, act); {
	case errors.Is(err, errHidden):
		return notFound("account", acct.ID)
	case errors.As(err, &d):
		return forbidden("account %s: %s", acct.ID, d.why)
	case err != nil:
		return forbidden("account %s: key %s (role %s) may not %s", acct.ID, p.key.ID, p.key.Role, act)
	}
	return nil
}

// String names an action in problem details ("key k1 may not <action>").
func (a action) String() string {
	switch a {
	case actRead:
		return "read it"
	case actManage:
		return "change its settings, registrations or keys"
	case actPrice:
		return "change the price or billing"
	case actLimits:
		return "change its sending limits or balance alerts"
	case actFinance:
		return "credit, debit, activate or deactivate it"
	case actCreateSub:
		return "create sub-accounts"
	case actProfile:
		return "edit its profile"
	case actSettings:
		return "change its messaging settings"
	case actRegistrations:
		return "manage its email-to-SMS registrations"
	case actKeys:
		return "manage its API keys"
	case actWebhooks:
		return "manage its webhooks"
	case actUsersView:
		return "view its users"
	case actUsersManage:
		return "manage its users and invitations"
	case actPermissionsSelf:
		return "switch its own permission flags"
	case actPermissionsGrant:
		return "grant permission flags"
	case actSubStatus:
		return "activate or deactivate it"
	case actDelete:
		return "delete it"
	case actTopUp:
		return "top it up from the parent account"
	case actLedger:
		return "read its ledger"
	case actPricesView:
		return "view its prices"
	case actSend:
		return "send messages"
	case actMessages:
		return "read its message log"
	case actMessagesExport:
		return "export its message log"
	case actInbox:
		return "read its inbox"
	case actInboxExport:
		return "export its inbox"
	case actBlocked:
		return "read its blocked messages"
	case actBlockedExport:
		return "export its blocked messages"
	case actStats:
		return "read its statistics"
	case actStatsExport:
		return "export its statistics"
	case actContacts:
		return "manage its contacts and groups"
	case actResubscribe:
		return "resubscribe an opted-out number"
	case actAutomation:
		return "manage its automation rules"
	case actTemplates:
		return "manage its templates"
	case actSenderView:
		return "view its numbers and sender ids"
	case actSenders:
		return "assign its numbers or approve its sender ids"
	case actShareGroups:
		return "share its groups with sub-accounts"
	}
	return "do this"
}

// name is the action's name in GET /v1/me's "may" lists: what the web
// console (and any other client) reads to show only what the caller may do.
// The names are stable: clients depend on them.
func (a action) name() string {
	switch a {
	case actRead:
		return "read"
	case actManage:
		return "manage"
	case actPrice:
		return "price"
	case actFinance:
		return "finance"
	case actCreateSub:
		return "create_sub"
	case actProfile:
		return "profile"
	case actSettings:
		return "settings"
	case actRegistrations:
		return "registrations"
	case actKeys:
		return "keys"
	case actWebhooks:
		return "webhooks"
	case actUsersView:
		return "users_view"
	case actUsersManage:
		return "users_manage"
	case actPermissionsSelf:
		return "permissions_self"
	case actPermissionsGrant:
		return "permissions_grant"
	case actSubStatus:
		return "sub_status"
	case actDelete:
		return "delete"
	case actTopUp:
		return "top_up"
	case actLedger:
		return "ledger"
	case actPricesView:
		return "prices_view"
	case actSend:
		return "send"
	case actMessages:
		return "messages"
	case actMessagesExport:
		return "messages_export"
	case actInbox:
		return "inbox"
	case actInboxExport:
		return "inbox_export"
	case actBlocked:
		return "blocked"
	case actBlockedExport:
		return "blocked_export"
	case actStats:
		return "stats"
	case actStatsExport:
		return "stats_export"
	case actContacts:
		return "contacts"
	case actResubscribe:
		return "resubscribe"
	case actAutomation:
		return "automation"
	case actTemplates:
		return "templates"
	case actSenderView:
		return "sender_view"
	case actSenders:
		return "senders"
	case actShareGroups:
		return "share_groups"
	case actLimits:
		return "limits"
	}
	return ""
}

// mayList names the actions p may perform on target, by authorize itself:
// the one rule table decides what a client shows as well as what the API
// allows.
func mayList(p principal, target *accounts.Account) []string {
	out := []string{}
	for a := action(0); a <= actLast; a++ {
		if authorizeP(p, target, a) == nil {
			out = append(out, a.name())
		}
	}
	return out
}

// mayOnSubs names what p may do on any sub-account of its own (root)
// account: the parent's administrators' rights, the same for every child
// (a sub-account's flags bind its own members, not its parent's).
func mayOnSubs(p principal) []string {
	if p.acct == nil || p.acct.ParentID != "" || p.key == nil || p.key.Role != accounts.RoleParentAdmin {
		return []string{}
	}
	probe := &accounts.Account{ID: "\x00sub", ParentID: p.acct.ID}
	return mayList(p, probe)
}
