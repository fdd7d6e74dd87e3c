package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
)

// TestConsoleSendOnce: the Send form of the running daemon, sent twice (a
// double click, a browser's resubmission after a lost answer), sends one
// SMS and charges once; a new form sends again.
func TestConsoleSendOnce(t *testing.T) {
	g := startGateway(t)
	ctx := t.Context()
	fast := redisstore.New(g.rdb, redisstore.Options{Shards: g.cfg.Redis.EffectiveShards(), PasswordCost: bcrypt.MinCost})
	token, _, err := fast.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: g.sub.ID, Email: "sam@example.com", Role: accounts.RoleSubAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fast.AcceptInvitation(ctx, token, "Sam", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + g.httpAddr
	fieldRE := regexp.MustCompile(`name="(csrf|idem)" value="([^"]+)"`)
	form := func(path string) url.Values {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		v := url.Values{}
		for _, m := range fieldRE.FindAllStringSubmatch(string(body), -1) {
			v.Set(m[1], m[2])
		}
		return v
	}
	post := func(path string, v url.Values) *http.Response {
		resp, err := c.PostForm(base+path, v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	v := form("/signin")
	v.Set("email", "sam@example.com")
	v.Set("password", "correct horse battery")
	if resp := post("/signin", v); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	before := g.balance(g.sub.ID)
	v = form("/send")
	if v.Get("idem") == "" || v.Get("csrf") == "" {
		t.Fatalf("the send form's fields: %v", v)
	}
	v.Set("to", "0412 345 678")
	v.Set("text", "Once only")
	v.Set("action", "send")
	first, second := post("/send", v), post("/send", v)
	if first.StatusCode != http.StatusSeeOther || first.Header.Get("Location") != second.Header.Get("Location") ||
		!strings.HasPrefix(first.Header.Get("Location"), "/messages/m") {
		t.Fatalf("the form twice: %d %q, %d %q", first.StatusCode, first.Header.Get("Location"), second.StatusCode, second.Header.Get("Location"))
	}
	g.waitFor("the SMS", func() bool { return len(g.sim.Messages()) >= 1 })
	if got := g.balance(g.sub.ID); got != before-5 {
		t.Fatalf("balance %d after the form twice, want %d (one part at 5)", got, before-5)
	}
	// A new form is a new message.
	v2 := form("/send")
	v2.Set("to", "0412 345 678")
	v2.Set("text", "Once more")
	v2.Set("action", "send")
	if resp := post("/send", v2); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == first.Header.Get("Location") {
		t.Fatalf("a new form: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	g.waitFor("the second SMS", func() bool { return len(g.sim.Messages()) >= 2 })
	if n := g.checkSentOnce(); n != 2 {
		t.Fatalf("%d different texts, want 2", n)
	}
	if got := g.balance(g.sub.ID); got != before-10 {
		t.Fatalf("balance %d, want %d", got, before-10)
	}
}
