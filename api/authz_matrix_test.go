package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/webhook"
)

// The authorisation matrix: every route of the route table
// x every caller (the root's parent_admin; a sub-account's sub_admin,
// advanced and basic members; another tenant's parent_admin) x its own
// account, its child, a sibling and another tenant's account x the route's
// permission flag on and off. Each cell runs against a fresh account tree
// on a real store behind a real HTTP server, and its status must be the
// one the row's rule gives: the success status, 403, or 404 (another
// tenant's objects always 404).
//
// The rows restate, per route, the rights of each role and the permission
// flags; they do not read the authorisation table of auth.go, so a route
// wired to the wrong action, or a wrong row of the table, fails here.

// mCaller is who sends a cell's request.
type mCaller int

const (
	cRootAdmin mCaller = iota // parent_admin key of the root account
	cSubAdmin                 // sub_admin key of sub-account A
	cAdvanced                 // advanced key of A
	cBasic                    // basic key of A
	cOther                    // parent_admin key of another tenant's root
)

func (c mCaller) String() string {
	return [...]string{"root parent_admin", "A sub_admin", "A advanced", "A basic", "other tenant"}[c]
}

// role is the caller's role as a member of A (sub-account callers only).
func (c mCaller) role() accounts.Role {
	return [...]accounts.Role{accounts.RoleParentAdmin, accounts.RoleSubAdmin, accounts.RoleAdvanced, accounts.RoleBasic, accounts.RoleParentAdmin}[c]
}

// mTarget is the account a cell's request acts on, relative to the caller.
type mTarget int

const (
	tOwn     mTarget = iota // the caller's own account
	tChild                  // a sub-account of the caller's root
	tSibling                // a sibling sub-account of the caller's
	tForeign                // an account of another tenant
)

func (t mTarget) String() string { return [...]string{"own", "child", "sibling", "foreign"}[t] }

// mWorld is one cell's account tree: root with subs A and B, and another
// tenant with its sub. Prices are zero so that sends are free; the roots
// hold money for credits.
type mWorld struct {
	st                                *redisstore.Store
	root, subA, subB, other, otherSub *accounts.Account
	keys                              map[mCaller]string
	n                                 int64  // unique per cell: domains, numbers
	userID                            string // a user to make members of
	hooks                             *webhook.Service
	// basicEmail is the basic caller's (a user); sender sends the world's
	// messages: another member, or the basic caller in mine cells.
	basicEmail, sender string
	// objects identify what an own row's request reads (ids, a sender).
	objects []string
}

// mRow is the rule of one route.
type mRow struct {
	pattern string
	// public is the status of an unauthenticated route (no key sent); 0 for
	// routes that need a key.
	public int
	// self: the route acts on the caller's own account only (no target).
	self bool
	// Root: the root's parent_admin may on the root itself; child: on a
	// sub-account; sub: the least role of a sub-account's own members (""
	// none); flag: what the sub-account needs for them; sibling: a member
	// whose sub-account has reporting_all may on a sibling.
	root, child bool
	sub         accounts.Role
	flag        string
	sibling     bool
	// ok is the success status.
	ok int
	// req builds the request against target (creating what it names).
	req func(t *testing.T, w *mWorld, target *accounts.Account) (path string, body any)
	// hidden: a refused request answers 404, not 403 (routes that read one
	// object by its id hide it from whoever may not read it).
	hidden bool
	// override, if set, replaces the expected status of a cell when it
	// returns non-zero (e.g. 422 for a root's own permissions).
	override func(c mCaller, tg mTarget) int
	// own: the basic role's own-data rule applies (a basic user sees only
	// what they sent and the replies to it). The basic caller's cells run
	// twice, on another member's object and on their own (mCell.mine); req
	// records in mWorld.objects what identifies the object in an answer,
	// which must show it exactly when the caller may see it.
	own bool
	// money: a successful answer carries money (balances, prices, costs).
	// The sub-account callers' cells on their own account run again with
	// hide_pricing in force (mCell.hide): then the answer must carry none,
	// and without it some. moneyOnly: the answer is money and nothing else,
	// so hide_pricing refuses it (403).
	money, moneyOnly bool
}

// expect is the status a cell must answer.
func (r mRow) expect(c mCaller, tg mTarget, perms []string) int {
	if r.override != nil {
		if s := r.override(c, tg); s != 0 {
			return s
		}
	}
	if tg == tForeign {
		return http.StatusNotFound
	}
	allowed := false
	switch {
	case c == cRootAdmin || c == cOther: // a root's parent_admin
		if tg == tOwn {
			allowed = r.root
		} else {
			allowed = r.child
		}
	case tg == tOwn:
		allowed = r.sub != "" && rank(c.role()) >= rank(r.sub) && (r.flag == "" || slices.Contains(perms, r.flag))
	case tg == tSibling:
		if !slices.Contains(perms, accounts.FlagReportingAll) {
			return http.StatusNotFound
		}
		allowed = r.sibling && rank(c.role()) >= rank(r.sub) && (r.flag == "" || slices.Contains(perms, r.flag))
	}
	switch {
	case allowed:
		return r.ok
	case r.hidden:
		return http.StatusNotFound
	}
	return http.StatusForbidden
}

// mCell is one request of the matrix.
type mCell struct {
	caller mCaller
	target mTarget
	flagOn bool
	mine   bool // own rows, basic caller: the object is the caller's own
	hide   bool // money rows: A has hide_pricing in force
}

// moneyRe matches a money member of a JSON answer, or a money column of a
// CSV header.
var moneyRe = regexp.MustCompile(`"(balance|price|price_per_part|cost|amount|spend_per_day|credit_limit|auto_recharge|low_balance_threshold)":|(^|,)(price|cost|amount|balance)(,|\r?\n)`)

// hidesOthers reports whether the own-data rule hides the cell's object.
func (r mRow) hidesOthers(c mCell) bool { return r.own && c.caller == cBasic && !c.mine }

// cells lists the cells of a row: the flag dimension only where the row
// Has a flag or a sibling rule (reporting_all).
func (r mRow) cells() []mCell {
	var out []mCell
	flagStates := []bool{true}
	if r.flag != "" || r.sibling || r.override != nil {
		flagStates = []bool{true, false}
	}
	hides := func(c mCaller, tg mTarget) {
		if (r.money || r.moneyOnly) && tg == tOwn && c != cRootAdmin && c != cOther {
			out = append(out, mCell{c, tg, true, r.own && c == cBasic, true})
		}
	}
	if r.self {
		for _, c := range []mCaller{cRootAdmin, cSubAdmin, cAdvanced, cBasic, cOther} {
			for _, on := range flagStates {
				out = append(out, mCell{c, tOwn, on, false, false})
			}
			hides(c, tOwn)
		}
		return out
	}
	out = append(out, mCell{cRootAdmin, tOwn, true, false, false}, mCell{cRootAdmin, tChild, true, false, false},
		mCell{cRootAdmin, tForeign, true, false, false}, mCell{cOther, tForeign, true, false, false})
	for _, c := range []mCaller{cSubAdmin, cAdvanced, cBasic} {
		for _, tg := range []mTarget{tOwn, tSibling, tForeign} {
			for _, on := range flagStates {
				out = append(out, mCell{c, tg, on, false, false})
				if r.own && c == cBasic {
					out = append(out, mCell{c, tg, on, true, false})
				}
			}
			hides(c, tg)
		}
	}
	return out
}

// permsFor is A's flag set for a cell: the defaults, with the row's flag
// (and reporting_all, for sibling rows) switched on or off.
func (r mRow) permsFor(on bool) []string {
	perms := accounts.DefaultPermissions().Enabled
	for _, f := range []string{r.flag, accounts.FlagReportingAll} {
		if f == "" || (f == accounts.FlagReportingAll && !r.sibling) {
			continue
		}
		perms = slices.DeleteFunc(perms, func(x string) bool { return x == f })
		if on {
			perms = append(perms, f)
		}
	}
	slices.Sort(perms)
	return perms
}

// matrixBound is the one deadline for every request of the matrix together:
// generous, since a loaded 2-core machine runs hundreds of parallel cells,
// yet finite, so that a hung handler fails the test instead of the suite.
const matrixBound = 5 * time.Minute

func TestAuthorizationMatrix(t *testing.T) {
	rdb := redistest.Start(t)
	// The lowest bcrypt cost: the matrix tests authorisation, not hashing.
	st := redisstore.New(rdb, redisstore.Options{PasswordCost: bcrypt.MinCost})
	// One bound for the whole matrix rather than one per request. It is
	// cancelled in Cleanup, which runs after the parallel subtests end.
	ctx, cancel := context.WithTimeout(t.Context(), matrixBound)
	t.Cleanup(cancel)
	hooks := webhook.New(webhook.Options{Redis: rdb})
	srv := httptest.NewServer(New(matrixOptions(st, hooks)))
	t.Cleanup(srv.Close)
	// One user becomes a member wherever a cell needs one.
	user, err := st.CreateUser(t.Context(), "member@example.com", "Member", "a long enough password")
	if err != nil {
		t.Fatalf("create user: %v", err)
	}

	rows := map[string]mRow{}
	for _, r := range matrixRows() {
		if _, dup := rows[r.pattern]; dup {
			t.Fatalf("two matrix entries for %s", r.pattern)
		}
		rows[r.pattern] = r
	}
	var seq atomic.Int64
	served := map[string]bool{}
	for _, rt := range (&server{}).routes(prometheus.NewRegistry()) {
		served[rt.pattern] = true
		row, ok := rows[rt.pattern]
		if !ok {
			t.Errorf("route %s has no matrix entry", rt.pattern)
			continue
		}
		if (row.public != 0) == rt.auth {
			t.Errorf("route %s: the matrix says public=%v, the route table auth=%v", rt.pattern, row.public != 0, rt.auth)
			continue
		}
		t.Run(rt.pattern, func(t *testing.T) {
			t.Parallel()
			method, _, _ := strings.Cut(rt.pattern, " ")
			if row.public != 0 {
				w := newWorld(t, st, seq.Add(1), nil)
				path, body := row.req(t, w, w.root)
				if got, data := matrixDo(ctx, t, srv, "", method, path, body); got != row.public {
					t.Fatalf("%s %s without a key: status %d, want %d; body %s", method, path, got, row.public, data)
				}
				return
			}
			for _, c := range row.cells() {
				name := fmt.Sprintf("%s/%s/flag=%v", c.caller, c.target, c.flagOn)
				if row.own && c.caller == cBasic {
					name += fmt.Sprintf("/mine=%v", c.mine)
				}
				if c.hide {
					name += "/hide_pricing"
				}
				t.Run(name, func(t *testing.T) {
					perms := row.permsFor(c.flagOn)
					if c.hide {
						perms = append(slices.Clone(perms), accounts.FlagHidePricing)
					}
					w := newWorld(t, st, seq.Add(1), perms)
					w.userID, w.hooks = user.ID, hooks
					if c.mine {
						w.sender = w.basicEmail
					}
					target := w.targetOf(c.caller, c.target)
					path, body := row.req(t, w, target)
					want := row.expect(c.caller, c.target, perms)
					if want == row.ok && row.hidden && row.hidesOthers(c) {
						want = http.StatusNotFound
					}
					if want == row.ok && c.hide && row.moneyOnly {
						want = http.StatusForbidden
					}
					got, data := matrixDo(ctx, t, srv, w.keys[c.caller], method, path, body)
					if got != want {
						t.Fatalf("%s %s by %s on %s account (A's flags %v): status %d, want %d; body %s",
							method, path, c.caller, c.target, perms, got, want, data)
					}
					if got >= 400 && !json.Valid(data) {
						t.Fatalf("error body is not a JSON problem: %s", data)
					}
					if got == row.ok && row.money && c.target == tOwn && c.caller != cRootAdmin && c.caller != cOther && !row.hidesOthers(c) {
						if shown := moneyRe.Match(data); shown == c.hide {
							t.Fatalf("%s %s by %s (hide_pricing %v): money shown=%v; body %s", method, path, c.caller, c.hide, shown, data)
						}
					}
					if got == row.ok && row.own {
						for _, o := range w.objects {
							if shown := bytes.Contains(data, []byte(o)); shown == row.hidesOthers(c) {
								t.Fatalf("%s %s by %s on %s account (mine=%v): %q shown=%v; body %s",
									method, path, c.caller, c.target, c.mine, o, shown, data)
							}
						}
					}
				})
			}
		})
	}
	for p := range rows {
		if !served[p] {
			t.Logf("matrix entry %s names no route of the table (not yet served?)", p)
		}
	}
}

// newWorld builds a fresh tree for one cell; A gets perms (enabled and
// granted) when given.
func newWorld(t *testing.T, st *redisstore.Store, n int64, perms []string) *mWorld {
	t.Helper()
	ctx := t.Context()
	w := &mWorld{st: st, keys: map[mCaller]string{}, n: n, sender: "jo@example.com", basicEmail: fmt.Sprintf("basic%d@example.com", n)}
	mk := func(a accounts.Account) *accounts.Account {
		got, err := st.CreateAccount(ctx, a)
		if err != nil {
			t.Fatalf("create account %s: %v", a.Name, err)
		}
		return got
	}
	key := func(c mCaller, a *accounts.Account) {
		secret, _, err := st.CreateKey(ctx, a.ID, c.role(), c.String())
		if err != nil {
			t.Fatalf("create key: %v", err)
		}
		w.keys[c] = secret
	}
	w.root = mk(accounts.Account{Name: "Root", DefaultCountry: "AU", Currency: "AUD"})
	w.other = mk(accounts.Account{Name: "Other", DefaultCountry: "AU", Currency: "AUD"})
	for _, a := range []*accounts.Account{w.root, w.other} {
		if _, err := st.Credit(ctx, a.ID, 100000, "seed", "test"); err != nil {
			t.Fatal(err)
		}
	}
	w.subA = mk(accounts.Account{Name: "A", ParentID: w.root.ID})
	w.subB = mk(accounts.Account{Name: "B", ParentID: w.root.ID})
	w.otherSub = mk(accounts.Account{Name: "Other sub", ParentID: w.other.ID})
	if perms != nil {
		if err := st.SetPermissions(ctx, w.subA.ID, accounts.Permissions{Granted: perms, Enabled: perms}, true); err != nil {
			t.Fatal(err)
		}
	}
	key(cRootAdmin, w.root)
	key(cOther, w.other)
	for _, c := range []mCaller{cSubAdmin, cAdvanced} {
		key(c, w.subA)
	}
	// basic is a user's role: the basic caller is a member's personal key.
	u, err := st.CreateUser(ctx, w.basicEmail, "Basic", "a long enough password")
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	if _, err := st.AddMember(ctx, w.subA.ID, u.ID, accounts.RoleBasic); err != nil {
		t.Fatalf("add member: %v", err)
	}
	secret, _, err := st.CreateUserKey(ctx, w.subA.ID, u.ID, "basic", time.Time{})
	if err != nil {
		t.Fatalf("create user key: %v", err)
	}
	w.keys[cBasic] = secret
	return w
}

// targetOf is the account a cell acts on.
func (w *mWorld) targetOf(c mCaller, tg mTarget) *accounts.Account {
	root := c == cRootAdmin || c == cOther
	switch {
	case c == cOther && tg == tOwn:
		return w.other
	case c == cOther:
		return w.subA // another tenant reaching into ours
	case tg == tOwn && root:
		return w.root
	case tg == tOwn:
		return w.subA
	case tg == tChild:
		return w.subA
	case tg == tSibling:
		return w.subB
	}
	return w.otherSub
}

// fund credits a sub-account from its parent so that it can be debited.
func (w *mWorld) fund(t *testing.T, a *accounts.Account) {
	t.Helper()
	if a.ParentID == "" {
		return
	}
	if _, _, err := w.st.Transfer(t.Context(), a.ParentID, a.ID, 100, "fund", "test"); err != nil {
		t.Fatal(err)
	}
}

// number is a unique Australian mobile number for the cell.
func (w *mWorld) number() string { return fmt.Sprintf("614%08d", w.n%100000000) }

// message stores one message of account a and returns its id.
func (w *mWorld) message(t *testing.T, a *accounts.Account) string {
	t.Helper()
	res, err := w.st.Accept(t.Context(), accounts.AcceptRequest{AccountID: a.ID, Messages: []*accounts.Message{{
		Sender: w.sender, To: w.number(), Text: "hello", Parts: 1, Source: "61400000000",
	}}})
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	return res.IDs[0]
}

// reply stores a reply to a message of account a and returns its id.
func (w *mWorld) reply(t *testing.T, a *accounts.Account) string {
	t.Helper()
	id := w.message(t, a)
	ctx := t.Context()
	if err := w.st.MarkSubmitted(ctx, []accounts.Submitted{{
		Entry: accounts.Entry{MessageID: id, StreamID: "0-1"}, Link: "l", Source: "61400000000",
		SMSCIDs: []string{"smsc-" + id}, To: w.number(),
	}}); err != nil {
		t.Fatalf("mark submitted: %v", err)
	}
	rp, _, err := w.st.RouteReply(ctx, accounts.Reply{From: w.number(), To: "61400000000", Text: "yes", Link: "l"})
	if err != nil || rp.AccountID != a.ID {
		t.Fatalf("route reply: %+v, %v", rp, err)
	}
	return rp.ID
}

// matrixDo sends one request within ctx, the matrix's overall bound.
func matrixDo(ctx context.Context, t *testing.T, srv *httptest.Server, key, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// matrixOptions builds the API's options for the matrix, with whatever
// services the routes need.
func matrixOptions(st *redisstore.Store, hooks *webhook.Service) Options {
	return Options{Stores: storesOf(st), Webhooks: hooks, Sender: matrixSender{},
		Mailer: func(context.Context, string, string, string) error { return nil },
		// DNS as it would answer had every pending domain's owner published
		// its token: the matrix tests who may verify, not DNS.
		LookupTXT: func(ctx context.Context, name string) ([]string, error) {
			d := strings.TrimPrefix(name, "_smsgate-challenge.")
			ids, err := st.RDB.SMembers(ctx, st.Keys.PendingDomain(d)).Result()
			if err != nil {
				return nil, err
			}
			var out []string
			for _, id := range ids {
				cs, err := st.PendingDomains(ctx, id)
				if err != nil {
					return nil, err
				}
				for _, c := range cs {
					if c.Domain == d {
						out = append(out, c.TXTValue)
					}
				}
			}
			return out, nil
		}}
}

// matrixSender accepts every message: the matrix tests authorisation, the
// router's own checks are tested in package router.
type matrixSender struct{}

func (matrixSender) Accept(_ context.Context, m *router.Mail) ([]string, error) {
	ids := make([]string, len(m.Recipients))
	for i := range ids {
		ids[i] = fmt.Sprintf("m0-matrix%d", i)
	}
	return ids, nil
}
