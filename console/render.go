package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/api"
)

// view is what every page template gets: the layout's parts and the
// page's own Data.
type view struct {
	Title   string
	Nav     string // the menu entry to mark current
	S       *session
	CSRF    string
	Flash   string
	Problem *api.Problem // the error of the page (error page, or a form's)
	Data    any
	loc     *time.Location
}

// view starts the view of a page.
func (c *Console) view(w http.ResponseWriter, r *http.Request, s *session, title, nav string) *view {
	v := &view{Title: title, Nav: nav, S: s, loc: location(r), Flash: c.takeFlash(w, r)}
	if s != nil {
		v.CSRF = s.csrf
	}
	return v
}

// May reports whether the signed-in user may do action on their account
// (the API's names: send, messages, messages_export, keys, ...).
func (v *view) May(action string) bool { return v.S != nil && v.S.may(action) }

// MaySub reports whether they may do action on their sub-accounts.
func (v *view) MaySub(action string) bool { return v.S != nil && v.S.maySub(action) }

// Account is the signed-in user's account.
func (v *view) Account() *accounts.Account {
	if v.S == nil {
		return nil
	}
	return v.S.me.Account
}

// Money shows minor units in the account's currency: "12.34 AUD".
func (v *view) Money(minor int64) string {
	cur := ""
	if a := v.Account(); a != nil {
		cur = a.Currency
	}
	return money(minor, cur)
}

// When shows t in the user's time zone; zero is "".
func (v *view) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(v.loc).Format("2006-01-02 15:04:05")
}

// Zone is the name of the user's time zone.
func (v *view) Zone() string { return v.loc.String() }

// ISO is t for a <time datetime> attribute.
func (v *view) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// minorDigits are the ISO 4217 currencies whose minor unit is not the
// hundredth; every other has two decimals.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// money formats minor units of currency cur: "1,234.50 AUD".
func money(minor int64, cur string) string {
	digits, ok := minorDigits[strings.ToUpper(cur)]
	if !ok {
		digits = 2
	}
	neg := minor < 0
	if neg {
		minor = -minor
	}
	unit := int64(1)
	for range digits {
		unit *= 10
	}
	s := group(strconv.FormatInt(minor/unit, 10))
	if digits > 0 {
		s += fmt.Sprintf(".%0*d", digits, minor%unit)
	}
	if neg {
		s = "-" + s
	}
	if cur != "" {
		s += " " + cur
	}
	return s
}

// group puts thousands separators in a run of digits.
func group(d string) string {
	if len(d) <= 3 {
		return d
	}
	var b strings.Builder
	lead := len(d) % 3
	if lead > 0 {
		b.WriteString(d[:lead])
	}
	for i := lead; i < len(d); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d[i : i+3])
	}
	return b.String()
}

// funcs are the templates' helpers that need no page.
var funcs = template.FuncMap{
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
	"add64": func(n ...int64) int64 {
		var t int64
		for _, x := range n {
			t += x
		}
		return t
	},
	"pct":    pct,
	"status": statusClass,
	"list":   func(s ...string) []string { return s },
}

// pct is part of whole in percent, one decimal: "97.5%"; "–" when whole is 0.
func pct(part, whole int64) string {
	if whole == 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(part)*100/float64(whole), 'f', 1, 64) + "%"
}

// statusClass is the CSS class of a message status.
func statusClass(s accounts.MessageStatus) string {
	switch s {
	case accounts.MsgDelivered:
		return "ok"
	case accounts.MsgQueued, accounts.MsgSubmitted:
		return "pending"
	}
	return "bad"
}

// parsePages parses every page template with the layout: one template set
// per page, named by its file.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("console: page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes page with v and status. Pages hold private data: no cache.
func (c *Console) render(w http.ResponseWriter, status int, page string, v *view) {
	t, ok := c.pages[page]
	if !ok {
		c.log.Error("console: no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		ref := newRef()
		c.log.Error("console: render", "ref", ref, "page", page, "err", err)
		http.Error(w, "internal error (ref "+ref+")", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Me is the signed-in user as GET /v1/me answered; nil on the pages
// before sign-in.
func (v *view) Me() *api.Me {
	if v.S == nil {
		return nil
	}
	return &v.S.me
}

// MinorDigits is how many decimals the account's currency has (the Send
// page's script prices with it).
func (v *view) MinorDigits() int {
	if a := v.Account(); a != nil {
		if d, ok := minorDigits[strings.ToUpper(a.Currency)]; ok {
			return d
		}
	}
	return 2
}

// show renders page with data: the common ending of a page handler.
func (c *Console) show(w http.ResponseWriter, r *http.Request, s *session, status int, page, title, nav string, data any) error {
	v := c.view(w, r, s, title, nav)
	v.Data = data
	c.render(w, status, page, v)
	return nil
}

// Decimal shows minor units as a plain amount for a form field ("2.50").
func (v *view) Decimal(minor int64) string {
	cur := ""
	if a := v.Account(); a != nil {
		cur = a.Currency
	}
	return strings.ReplaceAll(strings.TrimSpace(strings.TrimSuffix(money(minor, cur), cur)), ",", "")
}

// showRefusal puts the API's refusal of what the user asked (a filter,
// a period: a 4xx other than not found) above the page's form, and
// returns any other error for an error page.
func (v *view) showRefusal(err error) error {
	if p := problemOf(err); p != nil && p.Status < 500 && p.Status != http.StatusNotFound {
		v.Problem = p
		return nil
	}
	return err
}
