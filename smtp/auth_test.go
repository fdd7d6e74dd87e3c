package smtp

import (
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/smsgate/smsgate/accounts"
)

// authWorld: a root r1 with a sub-account s1 and an unrelated root u1,
// none of which allows any network or SPF: only AUTH authorises.
func authWorld(t *testing.T) *harness {
	t.Helper()
	h := start(t, nil)
	closed := &accounts.SenderPolicy{}
	h.resolver.byAddr["@root.example"] = &accounts.Account{ID: "r1", Status: accounts.StatusActive, DefaultCountry: "AU", SenderPolicy: closed}
	h.resolver.byAddr["@sub.example"] = &accounts.Account{ID: "s1", ParentID: "r1", Status: accounts.StatusActive, DefaultCountry: "AU", SenderPolicy: closed}
	h.resolver.byAddr["@other.example"] = &accounts.Account{ID: "u1", Status: accounts.StatusActive, DefaultCountry: "AU", SenderPolicy: closed}
	h.keys.keys["relay-r1"] = &accounts.APIKey{ID: "kr", AccountID: "r1", Scope: accounts.ScopeSMTPRelay}
	h.keys.keys["userkey-s1"] = &accounts.APIKey{ID: "ku", AccountID: "s1", UserID: "u-bob", UserEmail: "bob@sub.example", Role: accounts.RoleBasic}
	h.keys.users = map[string]map[string]accounts.Role{"carol@sub.example": {"s1": accounts.RoleAdvanced}}
	return h
}

func TestAuthIdentities(t *testing.T) {
	h := authWorld(t)
	for _, tc := range []struct {
		name      string
		client    sasl.Client
		from      string
		ok        bool
		attribute string // the sender address the mail is recorded under
	}{
		{"relay key: its own account", sasl.NewPlainClient("", "exchange", "relay-r1"), "ops@root.example", true, "ops@root.example"},
		{"relay key: a sub-account's sender", sasl.NewPlainClient("", "exchange", "relay-r1"), "ops@sub.example", true, "ops@sub.example"},
		{"relay key: an unrelated account", sasl.NewPlainClient("", "exchange", "relay-r1"), "ops@other.example", false, ""},
		{"user key: sends as the user", sasl.NewPlainClient("", "bob@sub.example", "userkey-s1"), "shared@sub.example", true, "bob@sub.example"},
		{"user key: not the parent's", sasl.NewPlainClient("", "bob@sub.example", "userkey-s1"), "ops@root.example", false, ""},
		{"user password: sends as the user", sasl.NewPlainClient("", "carol@sub.example", "pw-carol@sub.example"), "shared@sub.example", true, "carol@sub.example"},
		{"user password via LOGIN", &loginClient{user: "carol@sub.example", pass: "pw-carol@sub.example"}, "shared@sub.example", true, "carol@sub.example"},
		{"user password: not another account", sasl.NewPlainClient("", "carol@sub.example", "pw-carol@sub.example"), "ops@other.example", false, ""},
		{"no auth", nil, "ops@sub.example", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.pipeline.mails())
			c := h.dial(t, nil)
			if tc.client != nil {
				if err := c.Auth(tc.client); err != nil {
					t.Fatalf("AUTH: %v", err)
				}
			}
			if err := c.Mail(tc.from, nil); err != nil {
				t.Fatalf("MAIL: %v", err)
			}
			err := c.Rcpt("0412345679@sms.test", nil)
			if !tc.ok {
				if tc.client != nil {
					wantReply(t, err, 550, gosmtp.EnhancedCode{5, 7, 1}, "the authenticated credential does not belong to the account of "+tc.from)
				} else {
					wantReply(t, err, 550, gosmtp.EnhancedCode{5, 7, 1}, "is not in the networks allowed to send for")
				}
				return
			}
			if err != nil {
				t.Fatalf("RCPT: %v", err)
			}
			if _, err := send(c, plainMail); err != nil {
				t.Fatal(err)
			}
			got := h.pipeline.mails()
			if len(got) != before+1 || got[len(got)-1].Sender.Address != tc.attribute {
				t.Fatalf("mail recorded as %q, want %q", got[len(got)-1].Sender.Address, tc.attribute)
			}
		})
	}
	if n := testutilCount(t, h, "smsgate_smtp_auth_total", map[string]string{"kind": accounts.IdentityRelay, "result": "success"}); n != 3 {
		t.Errorf("auth{relay,success} = %v, want 3", n)
	}
	if n := testutilCount(t, h, "smsgate_smtp_auth_total", map[string]string{"kind": accounts.IdentityUserPassword, "result": "success"}); n != 3 {
		t.Errorf("auth{user_password,success} = %v, want 3", n)
	}
}

func TestAuthFailures(t *testing.T) {
	h := authWorld(t)
	c := h.dial(t, nil)
	// A wrong password for a real user and an unknown user read the same.
	err1 := c.Auth(sasl.NewPlainClient("", "carol@sub.example", "wrong"))
	c2 := h.dial(t, nil)
	err2 := c2.Auth(sasl.NewPlainClient("", "nobody@sub.example", "wrong"))
	wantReply(t, err1, 535, gosmtp.EnhancedCode{5, 7, 8}, "authentication failed: invalid credentials")
	wantReply(t, err2, 535, gosmtp.EnhancedCode{5, 7, 8}, "authentication failed: invalid credentials")
	if err1.Error() != err2.Error() {
		t.Fatalf("replies differ: %q vs %q", err1, err2)
	}
	h.keys.AuthErr = accounts.ErrTooManyAttempts
	c3 := h.dial(t, nil)
	wantReply(t, c3.Auth(sasl.NewPlainClient("", "carol@sub.example", "pw-carol@sub.example")), 454, gosmtp.EnhancedCode{4, 7, 0}, "too many failed logins")
	if n := testutilCount(t, h, "smsgate_smtp_auth_total", map[string]string{"kind": accounts.IdentityUserPassword, "result": "failure"}); n != 2 {
		t.Errorf("auth{user_password,failure} = %v, want 2", n)
	}
}

// loginClient is the client side of AUTH LOGIN (go-sasl has none).
type loginClient struct {
	user, pass string
	step       int
}

func (l *loginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (l *loginClient) Next(challenge []byte) ([]byte, error) {
	l.step++
	if l.step == 1 {
		return []byte(l.user), nil
	}
	return []byte(l.pass), nil
}
