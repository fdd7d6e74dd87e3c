package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/internal/redistest"
)

// Sizes of the account the page benchmark renders: what the issue names.
const (
	benchMessages = 100_000
	benchContacts = 10_000
	benchReplies  = 500
)

// BenchmarkConsolePages renders every page of the console, in process
// (API included, Redis over loopback), for a parent administrator whose
// account holds 100,000 messages, 10,000 contacts and 500 replies, and
// prints each page's mean and 99th-percentile time:
//
//	go test -run '^$' -bench ConsolePages -benchtime 50x ./console/
func BenchmarkConsolePages(b *testing.B) {
	ctx := b.Context()
	rdb := redistest.Start(b)
	st := redisstore.New(rdb, redisstore.Options{PasswordCost: bcrypt.MinCost})
	c, err := New(Options{API: newAPI(rdb, st, slog.New(slog.DiscardHandler)), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	root, _, err := st.Bootstrap(ctx, accounts.Account{Name: "Big Pty Ltd", DefaultCountry: "AU", Currency: "AUD", PricePerPart: 5})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Credit(ctx, root.ID, 1<<40, "seed", "bench"); err != nil {
		b.Fatal(err)
	}
	for i := range 5 {
		if _, err := st.CreateAccount(ctx, accounts.Account{ParentID: root.ID, Name: fmt.Sprintf("Team %d", i), DefaultCountry: "AU"}); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	seedMessages(b, st, root.ID)
	seedContacts(b, st, root.ID)
	seedReplies(b, st, root.ID)
	b.Logf("seeded %d messages, %d contacts, %d replies in %s", benchMessages, benchContacts, benchReplies, time.Since(start).Round(time.Millisecond))
	token, _, err := st.CreateInvitation(ctx, accounts.InvitationRequest{AccountID: root.ID, Email: "ann@example.com", Role: accounts.RoleParentAdmin})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.AcceptInvitation(ctx, token, "Ann", password); err != nil {
		b.Fatal(err)
	}
	secret, _, err := st.Login(ctx, "ann@example.com", password, root.ID)
	if err != nil {
		b.Fatal(err)
	}
	pages := []string{"/", "/messages", "/messages?status=failed", "/messages?number=61412000777", "/messages?sender=bob@example.com",
		"/inbox", "/contacts", "/contacts?prefix=6141200", "/stats", "/stats?by=sender", "/stats?by=account", "/team", "/users",
		"/send", "/templates", "/keys", "/email", "/settings"}
	for _, p := range pages {
		name := strings.TrimPrefix(p, "/")
		if name == "" {
			name = "overview"
		}
		b.Run(name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				req := httptest.NewRequestWithContext(context.Background(), "GET", p, nil)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
				rec := httptest.NewRecorder()
				t0 := time.Now()
				c.ServeHTTP(rec, req)
				took = append(took, time.Since(t0))
				if rec.Code != http.StatusOK {
					body, _ := io.ReadAll(rec.Body)
					b.Fatalf("%s: %d\n%s", p, rec.Code, body)
				}
			}
			slices.Sort(took)
			var sum time.Duration
			for _, d := range took {
				sum += d
			}
			b.ReportMetric(float64(sum.Microseconds())/float64(len(took))/1000, "ms/page")
			b.ReportMetric(float64(took[(len(took)*99)/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// seedMessages accepts benchMessages messages in batches, from a few
// senders to many numbers.
func seedMessages(b *testing.B, st *redisstore.Store, acct string) {
	ctx := b.Context()
	senders := []string{"ann@example.com", "bob@example.com", "carol@example.com", "dan@example.com"}
	const batch = 500
	for n := 0; n < benchMessages; n += batch {
		msgs := make([]*accounts.Message, 0, batch)
		for i := n; i < n+batch; i++ {
			to := fmt.Sprintf("614120%05d", i%50000)
			msgs = append(msgs, &accounts.Message{To: to, Text: "Your appointment is tomorrow at 10:30. Reply YES to confirm.",
				Parts: 1, Price: 5, Sender: senders[i%len(senders)], MailID: fmt.Sprintf("<%d@bench>", i), Source: "61400000000"})
		}
		if _, err := st.Accept(ctx, accounts.AcceptRequest{AccountID: acct, Messages: msgs}); err != nil {
			b.Fatalf("seed messages: %v", err)
		}
	}
}

// seedContacts imports benchContacts contacts from one CSV file.
func seedContacts(b *testing.B, st *redisstore.Store, acct string) {
	var sb strings.Builder
	sb.WriteString("number,first_name,last_name,email\n")
	for i := range benchContacts {
		fmt.Fprintf(&sb, "0412%06d,First%d,Last%d,p%d@example.com\n", i, i, i, i)
	}
	res, err := st.ImportContacts(b.Context(), acct, strings.NewReader(sb.String()), "")
	if err != nil || res.Imported != benchContacts {
		b.Fatalf("seed contacts: %+v, %v", res, err)
	}
}

// seedReplies stores benchReplies replies, assigned to the account.
func seedReplies(b *testing.B, st *redisstore.Store, acct string) {
	ctx := b.Context()
	for i := range benchReplies {
		rep, _, err := st.RouteReply(ctx, accounts.Reply{From: fmt.Sprintf("614120%05d", i), To: "61400000000", Text: "YES", Link: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.AssignReply(ctx, rep.ID, acct); err != nil {
			b.Fatal(err)
		}
	}
}
