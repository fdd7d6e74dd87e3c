package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// action is what a request does to its target account; authorize decides
// from it alone.
type action int

// Actions, from weakest to strongest.
const (
	// actRead reads an account, its ledger, messages and inbox: any role.
	actRead action = iota
	// actManage changes registrations, keys and settings: parent_admin or
	// sub_admin.
	actManage
	// actPrice changes price_per_part or currency: a parent_admin of the
	// account's parent, or of the root account itself. A sub-account must
	// not set its own price.
	actPrice
	// actFinance credits, debits, activates or deactivates a sub-account:
	// only a parent_admin key of its parent. A sub-account can never credit
	// itself, and a root cannot deactivate itself.
	actFinance
	// actCreateSub creates a sub-account under target: a parent_admin key of
	// target, which must be a root account.
	actCreateSub

	// Finer actions, one per right of seed 000 and flag of seeds 002/003.
	// Until the permission-flag work lands they map onto the coarse ones
	// above (see coarse); that work replaces coarse with the full table.
	actProfile          // rename, contact email (flag profile_edit)
	actSettings         // messaging settings (flag settings)
	actRegistrations    // email-to-SMS domains and addresses
	actKeys             // API keys
	actWebhooks         // webhooks
	actUsersView        // list members
	actUsersManage      // invite, remove, change roles, switch owner
	actPermissionsSelf  // switch own flags within what was granted (flag modify_users)
	actPermissionsGrant // set a sub-account's granted flags: its parent's admins
	actSubStatus        // activate, deactivate a sub-account: its parent's admins
	actDelete           // delete a sub-account: its parent's admins
	actTopUp            // pull credit from the parent (flag top_up)
	actLedger           // ledger and finance (flags billing, finance)
	actPricesView       // prices (flag prices; hidden by hide_pricing)
	actSend             // send messages (flag access_sms; send_bulk for many)
	actMessages         // message log (basic: own messages only)
	actMessagesExport   // message log CSV (not basic; flag analytics_export)
	actInbox            // inbox (basic: replies to own messages; flag incoming_sms)
	actInboxExport      // inbox CSV (flag incoming_sms_export)
	actBlocked          // blocked messages (flag blocked_sms)
	actBlockedExport    // blocked CSV (flag blocked_sms_export)
	actStats            // statistics (basic: own; flag analytics)
	actStatsExport      // statistics CSV (flag analytics_export)
	actContacts         // contacts and groups (flag use_database)
	actResubscribe      // resubscribe an opted-out number: sub_admin
	actAutomation       // automation rules: sub_admin
)

// coarse maps a finer action onto the coarse rule that governs it for now.
func coarse(a action) action {
	switch a {
	case actUsersView, actPricesView, actSend, actMessages, actInbox, actBlocked, actStats, actContacts, actMessagesExport,
		actInboxExport, actBlockedExport, actStatsExport, actLedger:
		return actRead
	case actProfile, actSettings, actRegistrations, actKeys, actWebhooks, actUsersManage, actPermissionsSelf,
		actResubscribe, actAutomation, actTopUp:
		return actManage
	case actPermissionsGrant, actSubStatus, actDelete:
		return actFinance
	}
	return a
}

// Errors of authorize. errHidden becomes a 404 so that another tenant's
// account is indistinguishable from one that does not exist.
var (
	errHidden    = errors.New("not visible to this key")
	errForbidden = errors.New("not permitted for this key")
)

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

// authorize is the one authorisation decision of the API: may key, which
// belongs to keyAcct, perform act on target? It returns nil, errHidden
// (the target is outside what the key can see: answer 404) or errForbidden
// (visible but not allowed: answer 403).
//
// A key sees its own account; a parent_admin key of a root account also
// sees that root's sub-accounts.
func authorize(key *accounts.APIKey, keyAcct, target *accounts.Account, act action) error {
	if key == nil || keyAcct == nil || target == nil || key.AccountID != keyAcct.ID {
		return errHidden
	}
	own := target.ID == keyAcct.ID
	isRoot := keyAcct.ParentID == ""
	parentAdmin := key.Role == accounts.RoleParentAdmin
	child := isRoot && parentAdmin && target.ParentID == keyAcct.ID
	if !own && !child {
		return errHidden
	}
	switch coarse(act) {
	case actRead:
		return nil
	case actManage:
		if rank(key.Role) >= rank(accounts.RoleSubAdmin) {
			return nil
		}
	case actPrice:
		if parentAdmin && (child || (own && isRoot)) {
			return nil
		}
	case actFinance:
		if child {
			return nil
		}
	case actCreateSub:
		if own && isRoot && parentAdmin {
			return nil
		}
	}
	return errForbidden
}

// ownOnly returns the sender address that limits what p sees under act: a
// basic user sees only their own messages, the replies to them and their own
// statistics (seed 000). Empty means no limit.
func ownOnly(p principal, act action) string {
	switch act {
	case actMessages, actInbox, actStats:
		if p.key != nil && p.key.Role == accounts.RoleBasic && p.key.UserEmail != "" {
			return p.key.UserEmail
		}
	}
	return ""
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
func (s *server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			s.unauthorized(w, "authorization: a bearer API key is required")
			return
		}
		key, err := s.store.Authenticate(r.Context(), secret)
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
		acct, err := s.store.GetAccount(r.Context(), key.AccountID)
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
		ctx := context.WithValue(r.Context(), principalKey{}, principal{key: key, acct: acct})
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
	acct, err := s.store.GetAccount(ctx, id)
	if err != nil {
		return nil, s.toProblem(ctx, err, "account", id)
	}
	return acct, nil
}

// allow runs authorize and turns its answer into a problem.
func (s *server) allow(p principal, acct *accounts.Account, act action) error {
	switch err := authorize(p.key, p.acct, acct, act); {
	case errors.Is(err, errHidden):
		return notFound("account", acct.ID)
	case errors.Is(err, errForbidden):
		return forbidden("account %s: key %s (role %s) may not %s", acct.ID, p.key.ID, p.key.Role, act)
	}
	return nil
}

// String names an action in problem details.
func (a action) String() string {
	switch a {
	case actRead:
		return "read it"
	case actManage:
		return "change its settings, registrations or keys"
	case actPrice:
		return "change its price"
	case actFinance:
		return "credit, debit, activate or deactivate it (only its parent account's parent_admin may)"
	case actCreateSub:
		return "create sub-accounts (only a parent account's parent_admin may)"
	}
	return "do this"
}
