package main

import (
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/internal/redistest"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// chromium finds Debian's chromium (scripts/test.sh installs it). Outside
// CI a machine without it skips the browser tests; in CI it is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("SMSGATE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: scripts/test.sh installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium): the browser tests are skipped")
	return ""
}

// tab is a headless Chromium tab on the console, with the helpers of the
// journeys: every step bounded, screenshots kept for the README.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string // the console's URL
	shot string // where screenshots go
	dl   string // the download folder
}

func newTab(t *testing.T, base string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	tb := &tab{t: t, ctx: ctx, base: base, shot: os.Getenv("SMSGATE_SCREENSHOTS"), dl: t.TempDir()}
	if tb.shot == "" {
		tb.shot = t.TempDir()
	}
	// The first run starts the browser and opens the tab: it takes the
	// tab's own context, without a bound, or the bound would end both.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: tb.dl}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tb
}

// run runs actions, bounded.
func (b *tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, e2eWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatal(what, err)
	}
}

// fatal fails the test with where the browser is and what it shows.
func (b *tab) fatal(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	b.t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
}

// get runs one action that returns a value, bounded.
func get[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, e2eWait)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fatal(what, err)
	}
	return v
}

// open goes to a console path and waits for its heading.
func (b *tab) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS("h1")))
}

// text is the text of the first element matching sel.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return get(b, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// waitText waits until the element sel holds want, reloading the page
// between looks when reload is set (state that arrives later: a receipt).
func (b *tab) waitText(sel, want string, reload bool) {
	b.t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil && strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s never showed %q (last %q, %v)", sel, want, s, err)
		}
		if reload {
			b.run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1")))
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// screenshot keeps the page as name.png.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	png := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs in through the form and waits for the overview.
func (b *tab) signIn(email, password string) {
	b.t.Helper()
	b.open("/")
	b.run("sign in as "+email,
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("nav")))
	if h := b.text("h1"); h != "Overview" {
		b.t.Fatalf("after signing in as %s: %q", email, h)
	}
}

// signOut clicks Sign out.
func (b *tab) signOut() {
	b.t.Helper()
	b.run("sign out", chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.CSS("#email")))
}

// withPublicURL listens the HTTP API and console on a port chosen now, so
// that http.public_url (the invitation links) names it.
func withPublicURL(t *testing.T) gwOption {
	addr := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	return func(cfg *config.Config, _ *smsctest.Options) {
		cfg.HTTP.Listen = addr
		cfg.HTTP.PublicURL = "http://" + addr
	}
}

// mailText is the decoded body of a mail (quoted-printable or not).
func mailText(t *testing.T, data string) string {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("a mail that does not parse: %v\n%s", err, data)
	}
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("mail body: %v", err)
	}
	return string(b)
}

var inviteLinkRE = regexp.MustCompile(`http://[^\s]+/invite\?token=sgi_[A-Za-z0-9_-]+`)

// TestConsoleInBrowser drives the web console in headless Chromium through
// the main journeys against the running daemon with real Redis, the SMSC
// simulator and a mail sink: sign in; create a sub-account and credit it;
// register and verify a domain; send an SMS from the Send page and see its
// receipt arrive; read a reply in the inbox; export the log as CSV; a
// forged form from another site is refused; invite a user who accepts,
// signs in with the basic role and cannot see the others' messages.
func TestConsoleInBrowser(t *testing.T) {
	chromium(t)
	g := startGateway(t, withPublicURL(t))
	ctx := t.Context()
	// Users made here hash at bcrypt's least cost: the daemon checks a
	// password at the cost it was hashed with.
	fast := redisstore.New(g.rdb, redisstore.Options{Shards: g.cfg.Redis.EffectiveShards(), PasswordCost: bcrypt.MinCost})
	token, _, err := fast.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: g.parent.ID, Email: "ann@example.com", Role: accounts.RoleParentAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fast.AcceptInvitation(ctx, token, "Ann Admin", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	b := newTab(t, g.cfg.HTTP.PublicURL)
	// The browser is in Sydney: the console shows times there.
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Australia/Sydney"}); err != nil {
		t.Fatal(err)
	}

	// Sign in; the overview.
	b.signIn("ann@example.com", "correct horse battery")
	b.screenshot("overview")

	// Team: create a sub-account, credit it 2.50 from the master balance.
	b.open("/team")
	b.run("create a sub-account",
		chromedp.Click(chromedp.CSS("details.card summary")),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "Marketing"),
		chromedp.SendKeys(chromedp.CSS("#new-email"), "marketing@example.com"),
		chromedp.Submit(chromedp.CSS("#new-name")),
		chromedp.WaitVisible(chromedp.CSS("#new-key")))
	if k := b.text("#new-key"); !strings.HasPrefix(k, "sgk_") {
		t.Fatalf("the new sub-account's key shown: %q", k)
	}
	subs, err := g.store.ListSubAccounts(ctx, g.parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	var mkt *accounts.Account
	for _, s := range subs {
		if s.Name == "Marketing" {
			mkt = s
		}
	}
	if mkt == nil {
		t.Fatalf("no Marketing among %d sub-accounts", len(subs))
	}
	b.open("/team")
	before := g.balance(g.parent.ID)
	b.run("credit it",
		chromedp.SendKeys(chromedp.CSS("#amt-"+mkt.ID), "2.50"),
		chromedp.Click(chromedp.CSS("#sub-"+mkt.ID+" button[value=credit]")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if f := b.text(".flash"); !strings.Contains(f, "Credited") || g.balance(mkt.ID) != 250 || g.balance(g.parent.ID) != before-250 {
		t.Fatalf("credit: flash %q, sub balance %d, parent %d (was %d)", f, g.balance(mkt.ID), g.balance(g.parent.ID), before)
	}
	b.screenshot("team")

	// Email to SMS: register marketing.example.org, publish its TXT record,
	// verify it.
	b.open("/email?account=" + mkt.ID)
	b.run("add a domain",
		chromedp.SendKeys(chromedp.CSS("#add-domain"), "marketing.example.org"),
		chromedp.Submit(chromedp.CSS("#add-domain")),
		chromedp.WaitVisible(chromedp.CSS(".pending-domain")))
	txtName, txtValue := b.text(".pending-domain code:nth-of-type(1)"), b.text(".pending-domain code:nth-of-type(2)")
	if txtName != accounts.DomainChallengeName("marketing.example.org") || !strings.HasPrefix(txtValue, "smsgate-verify=") {
		t.Fatalf("the TXT record shown: %q %q", txtName, txtValue)
	}
	g.dns.TXT(txtName, txtValue)
	b.screenshot("email")
	// The page already shows a flash (the domain is pending): wait for the
	// next one.
	b.run("verify it", chromedp.Click(chromedp.CSS(".pending-domain button")))
	b.waitText(".flash", "is verified", false)
	if snd, err := g.store.ResolveSender(ctx, "carol@marketing.example.org"); err != nil || snd.Account.ID != mkt.ID {
		t.Fatalf("mail from marketing.example.org resolves to %+v (%v), want %s", snd, err, mkt.ID)
	}

	// Send: the counter counts as you type; the receipt arrives in the log.
	b.open("/send")
	b.run("write an SMS",
		chromedp.SendKeys(chromedp.CSS("#to"), "0412 345 678"),
		chromedp.SendKeys(chromedp.CSS("#text"), "Hello from the console"))
	b.waitText("#counter", "22 characters · GSM 7-bit · 1 part × 1 recipient", false)
	b.screenshot("send")
	b.run("send it", chromedp.Click(chromedp.CSS("button[value=send]")), chromedp.WaitVisible(chromedp.CSS("#status")))
	b.waitText("#status", "delivered", true)
	b.screenshot("message")
	if h := b.text(".history"); !strings.Contains(h, "carrier id") || !strings.Contains(h, "receipt: delivered") {
		t.Fatalf("the message's history: %q", h)
	}
	// Times are the user's: the browser's zone, told by the script.
	if f := b.text("footer"); !strings.Contains(f, "Australia/Sydney") {
		t.Fatalf("the footer: %q", f)
	}
	sent := get(b, "the sending time", chromedp.AttributeValue(chromedp.CSS(".history time"), "datetime"))
	at, err := time.Parse(time.RFC3339, sent.Value)
	syd, _ := time.LoadLocation("Australia/Sydney")
	if err != nil || !strings.Contains(b.text(".history"), at.In(syd).Format("2006-01-02 15:04:05")) {
		t.Fatalf("the history %q does not show %s in Sydney (%v)", b.text(".history"), sent.Value, err)
	}

	// The reply from the phone, in the inbox under the message it answers.
	if err := g.sim.InjectMO(ctx, smsMO("61412345678", ourNumber, "Thanks, see you at 3")); err != nil {
		t.Fatal(err)
	}
	b.open("/inbox")
	b.waitText("main", "Thanks, see you at 3", true)
	if s := b.text(".conversation"); !strings.Contains(s, "Hello from the console") || !strings.Contains(s, "1 unread") {
		t.Fatalf("the conversation: %q", s)
	}
	b.screenshot("inbox")
	b.run("mark it read", chromedp.Click(chromedp.CSS(".conversation button[name=read]")), chromedp.WaitVisible(chromedp.CSS("h1")))
	b.waitText(".conversation", "Mark unread", false)

	b.open("/stats")
	if s := b.text("main"); !strings.Contains(s, "Messages") || !strings.Contains(s, time.Now().UTC().Format(time.DateOnly)) {
		t.Fatalf("statistics: %q", s)
	}
	b.screenshot("stats")

	// The message log and its CSV export.
	b.open("/messages")
	b.screenshot("messages")
	b.run("export the log", chromedp.Click(chromedp.CSS("a[download]")))
	var csvData []byte
	g.waitFor("the CSV download", func() bool {
		files, _ := filepath.Glob(filepath.Join(b.dl, "*.csv"))
		if len(files) == 0 {
			return false
		}
		csvData, _ = os.ReadFile(files[0])
		return strings.Contains(string(csvData), "61412345678")
	})
	if !strings.Contains(string(csvData), "Hello from the console") {
		t.Fatalf("the export: %s", csvData)
	}

	// The keyboard: the first Tab reaches the skip link, the next ones the
	// menu; the focused element shows an outline.
	b.open("/messages")
	b.run("tab", chromedp.KeyEvent(kb.Tab))
	if f := get(b, "focus", chromedp.Evaluate[string](`document.activeElement.textContent`)); f != "Skip to content" {
		t.Fatalf("the first Tab focuses %q", f)
	}
	b.run("tab", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
	if o := get(b, "outline", chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle + " " + document.activeElement.textContent`)); !strings.HasPrefix(o, "solid") {
		t.Fatalf("the focused link shows no outline: %q", o)
	}
	// Every field of every page has a label.
	for _, p := range []string{"/", "/send", "/messages", "/inbox", "/contacts", "/stats", "/team", "/team/" + mkt.ID, "/users",
		"/email", "/keys", "/webhooks", "/templates", "/optouts", "/automations", "/settings"} {
		b.open(p)
		if bare := get(b, "labels", chromedp.Evaluate[string](`Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea")).filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")).map(e => e.name || e.id).join(" ")`)); bare != "" {
			t.Errorf("%s: fields without a label: %s", p, bare)
		}
	}
	// A phone-sized screen: nothing wider than the screen but the tables,
	// which scroll in their own box.
	b.run("phone", chromedp.EmulateViewport(390, 844))
	for _, p := range []string{"/", "/send", "/messages", "/inbox", "/team"} {
		b.open(p)
		if w := get(b, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); w > 0 {
			wide := get(b, "wide", chromedp.Evaluate[string](`Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !(e.parentElement && e.parentElement.closest(".scroll"))).map(e => e.tagName + "." + e.className + "#" + e.id + ":" + Math.round(e.getBoundingClientRect().right)).slice(0, 8).join(" ")`))
			t.Errorf("%s is %d px wider than a phone's screen: %s", p, w, wide)
		}
	}
	b.open("/messages")
	b.screenshot("messages-phone")
	b.run("desktop", chromedp.EmulateViewport(1280, 900))

	// A forged form on another site, posting to the console with Ann's
	// cookie: refused, nothing created.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/team"><input name="name" value="Forged"></form><script>document.getElementById("f").submit()</script>`, b.base)
	}))
	defer evil.Close()
	b.run("visit the forger's page", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h, body := b.text("h1"), b.text("main"); h != "Forbidden" || !strings.Contains(body, "forgery") {
		t.Fatalf("the forged post: %q\n%s", h, body)
	}
	if subs, _ := g.store.ListSubAccounts(ctx, g.parent.ID); len(subs) != 2 {
		t.Fatalf("%d sub-accounts after the forged post, want 2", len(subs))
	}

	// Invite Bob as a basic user; the mail's link; he accepts and signs in.
	b.open("/users")
	b.run("invite Bob",
		chromedp.SendKeys(chromedp.CSS("#inv-email"), "bob@example.com"),
		chromedp.SetValue(chromedp.CSS("#inv-role"), "basic"),
		chromedp.Submit(chromedp.CSS("#inv-email")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	b.screenshot("users")
	var link string
	defer func() {
		if link == "" {
			for _, m := range g.sink.Mails() {
				t.Logf("mail to %v:\n%s", m.To, m.Data)
			}
		}
	}()
	g.waitFor("the invitation mail", func() bool {
		for _, m := range g.sink.Mails() {
			if l := inviteLinkRE.FindString(mailText(t, m.Data)); l != "" && strings.Contains(m.Data, "bob@example.com") {
				link = l
			}
		}
		return link != ""
	})
	b.signOut()
	b.run("accept the invitation",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Bob Basic"),
		chromedp.SendKeys(chromedp.CSS("#password"), "another long password"),
		chromedp.SendKeys(chromedp.CSS("#password2"), "another long password"),
		chromedp.Submit(chromedp.CSS("#password2")),
		chromedp.WaitVisible(chromedp.CSS("#email")))
	if f := b.text(".flash"); !strings.Contains(f, "bob@example.com") {
		t.Fatalf("after accepting: %q", f)
	}
	b.signIn("bob@example.com", "another long password")
	if nav := b.text("nav"); strings.Contains(nav, "Team") || strings.Contains(nav, "Users") || !strings.Contains(nav, "Send") {
		t.Fatalf("a basic user's menu: %q", nav)
	}
	b.open("/messages")
	if s := b.text("main"); strings.Contains(s, "Hello from the console") || !strings.Contains(s, "No messages match") {
		t.Fatalf("a basic user sees others' messages: %q", s)
	}
	b.open("/team")
	if h := b.text("h1"); h != "Forbidden" {
		t.Fatalf("a basic user forcing /team: %q", h)
	}
}
