package console

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/smpp"
)

// sendData is the Send page's data.
type sendData struct {
	To, Text, Template, Subject string
	Templates                   []accounts.Template
	Groups                      []groupRow // the account's groups (use_database)
	Chosen                      []string   // the groups chosen
	Idem                        string     // the form's idempotency key
	Preview                     *preview
	Sent                        []string // ids of what was just sent
	PricePerPart                int64
	ShowsPrice                  bool
}

// preview is what a text costs before it is sent: its coding, characters,
// parts and price for all recipients.
type preview struct {
	Chars, Parts, Recipients int
	Encoding                 string
	Price                    int64
}

// splitNumbers splits the To field: numbers separated by commas, semicolons
// or line breaks.
func splitNumbers(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// previewOf counts text as the gateway will send it.
func previewOf(text string, recipients int, pricePerPart int64) *preview {
	coding, parts := smpp.CountParts(text)
	p := &preview{Chars: len([]rune(text)), Parts: parts, Recipients: recipients, Encoding: "GSM 7-bit"}
	if coding == smpp.CodingUCS2 {
		p.Encoding = "Unicode (UCS-2)"
	}
	if text == "" {
		p.Parts = 0
	}
	p.Price = int64(p.Parts) * int64(recipients) * pricePerPart
	return p
}

// sendPage shows the Send form (GET), previews (POST with preview) or
// sends (POST) through POST /v1/messages.
func (c *Console) sendPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.may("send") {
		return forbidden("send messages")
	}
	a := s.me.Account
	d := sendData{PricePerPart: a.PricePerPart, ShowsPrice: !a.HidesPricing() && a.PricePerPart > 0}
	var tl struct {
		Templates []accounts.Template `json:"templates"`
	}
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(a.ID)+"/templates", nil, nil, &tl); err != nil {
		return err
	}
	d.Templates = tl.Templates
	if s.may("contacts") {
		var gl struct {
			Groups []groupRow `json:"groups"`
		}
		if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(a.ID)+"/groups", nil, nil, &gl); err != nil {
			return err
		}
		d.Groups = gl.Groups
	}
	v := c.view(w, r, s, "Send", "send")
	if r.Method == http.MethodGet {
		d.Idem = newIdem()
		d.To = strings.Join(r.URL.Query()["to"], ", ") // chosen on the contacts page
		v.Data = d
		c.render(w, http.StatusOK, "send", v)
		return nil
	}
	d.To, d.Text = r.PostFormValue("to"), r.PostFormValue("text")
	d.Template, d.Subject = r.PostFormValue("template"), r.PostFormValue("subject")
	d.Idem = r.PostFormValue("idem")
	if d.Idem == "" || len(d.Idem) > 64 {
		d.Idem = newIdem()
	}
	to := splitNumbers(d.To)
	d.Chosen = r.PostForm["group"]
	for _, g := range d.Chosen {
		nums, err := c.groupNumbers(r, s, g)
		if err != nil {
			return err
		}
		to = append(to, nums...)
	}
	text := d.Text
	if d.Template != "" && text == "" {
		for _, t := range d.Templates {
			if t.ID == d.Template || t.Name == d.Template {
				text = t.Body
			}
		}
	}
	d.Preview = previewOf(text, len(to), d.PricePerPart)
	if r.PostFormValue("action") == "preview" {
		v.Data = d
		c.render(w, http.StatusOK, "send", v)
		return nil
	}
	var out struct {
		IDs []string `json:"ids"`
	}
	body := map[string]any{"to": to, "text": d.Text, "subject": d.Subject, "template": d.Template}
	if err := c.api.callIdem(r, s.secret, "POST", "/v1/messages", d.Idem, body, &out); err != nil {
		p := problemOf(err)
		if p == nil {
			return err
		}
		c.reshow(w, "send", v, d, p)
		return nil
	}
	msg := "Sent 1 message."
	if len(out.IDs) != 1 {
		msg = "Sent " + itoa(len(out.IDs)) + " messages."
	}
	if len(out.IDs) == 1 {
		return c.done(w, r, "/messages/"+esc(out.IDs[0]), msg)
	}
	return c.done(w, r, "/messages", msg)
}

// newIdem is a fresh idempotency key for a form.
func newIdem() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// groupNumbers are the numbers of a group's members.
func (c *Console) groupNumbers(r *http.Request, s *session, group string) ([]string, error) {
	var ml struct {
		Contacts []*accounts.Contact `json:"contacts"`
	}
	path := "/v1/accounts/" + esc(s.me.Account.ID) + "/groups/" + esc(group) + "/members"
	if err := c.api.call(r, s.secret, "GET", path, url.Values{"limit": {"1000"}}, nil, &ml); err != nil {
		return nil, err
	}
	out := make([]string, len(ml.Contacts))
	for i, ct := range ml.Contacts {
		out[i] = "+" + ct.Number
	}
	return out, nil
}

// IsChosen reports whether group g was ticked.
func (d sendData) IsChosen(g string) bool { return slices.Contains(d.Chosen, g) }
