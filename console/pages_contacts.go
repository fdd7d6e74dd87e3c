package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// contactsData is the contacts page's data.
type contactsData struct {
	Prefix   string
	Contacts []*accounts.Contact
	NextURL  string
	Groups   []groupRow
	Import   *accounts.ImportResult // the outcome of an import just made
}

// groupRow is a group as GET groups lists it.
type groupRow struct {
	accounts.Group
	ReadOnly bool `json:"read_only"`
}

// maxUpload bounds a CSV import sent through the console.
const maxUpload = 8 << 20

// contacts lists the account's contacts (by number prefix, paged), its
// groups, and the import form.
func (c *Console) contacts(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.contactsPage(w, r, s, http.StatusOK, nil)
}

func (c *Console) contactsPage(w http.ResponseWriter, r *http.Request, s *session, status int, imp *accounts.ImportResult) error {
	if !s.may("contacts") {
		return forbidden("use the contact database")
	}
	base := "/v1/accounts/" + esc(s.me.Account.ID)
	d := contactsData{Prefix: strings.TrimPrefix(strings.TrimSpace(r.URL.Query().Get("prefix")), "+"), Import: imp}
	q := url.Values{"limit": {"100"}}
	if d.Prefix != "" {
		q.Set("prefix", d.Prefix)
	}
	if a := r.URL.Query().Get("after"); a != "" {
		q.Set("after", a)
	}
	var cl struct {
		Contacts []*accounts.Contact `json:"contacts"`
		Next     string              `json:"next"`
	}
	v := c.view(w, r, s, "Contacts", "contacts")
	err := c.api.call(r, s.secret, "GET", base+"/contacts", q, nil, &cl)
	if err := v.showRefusal(err); err != nil {
		return err
	}
	d.Contacts = cl.Contacts
	if cl.Next != "" {
		d.NextURL = "/contacts?" + url.Values{"prefix": {d.Prefix}, "after": {cl.Next}}.Encode()
	}
	var gl struct {
		Groups []groupRow `json:"groups"`
	}
	if err := c.api.call(r, s.secret, "GET", base+"/groups", nil, nil, &gl); err != nil {
		return err
	}
	d.Groups = gl.Groups
	v.Data = d
	c.render(w, status, "contacts", v)
	return nil
}

// contactAction adds, deletes or imports contacts, or creates or deletes a
// group.
func (c *Console) contactAction(w http.ResponseWriter, r *http.Request, s *session) error {
	base := "/v1/accounts/" + esc(s.me.Account.ID)
	switch r.PathValue("op") {
	case "add":
		in := accounts.ContactInput{Number: r.PostFormValue("number"), FirstName: strings.TrimSpace(r.PostFormValue("first_name")),
			LastName: strings.TrimSpace(r.PostFormValue("last_name")), Email: strings.TrimSpace(r.PostFormValue("email"))}
		var out accounts.Contact
		if err := c.api.call(r, s.secret, "POST", base+"/contacts", nil, in, &out); err != nil {
			return err
		}
		return c.done(w, r, "/contacts", "Contact +"+out.Number+" saved.")
	case "delete":
		if err := c.api.call(r, s.secret, "DELETE", base+"/contacts/"+esc(r.PostFormValue("contact")), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/contacts", "Contact deleted.")
	case "import":
		f, _, err := r.FormFile("file")
		if err != nil {
			return badForm("file: choose a CSV file to import (%v)", err)
		}
		defer f.Close()
		q := url.Values{}
		if g := r.PostFormValue("group"); g != "" {
			q.Set("group", g)
		}
		var res accounts.ImportResult
		if err := c.api.send(r, s.secret, "POST", base+"/contacts.csv", q, f, "text/csv", &res, nil); err != nil {
			return err
		}
		return c.contactsPage(w, r, s, http.StatusOK, &res)
	case "new-group":
		var g accounts.Group
		if err := c.api.call(r, s.secret, "POST", base+"/groups", nil, map[string]string{"name": strings.TrimSpace(r.PostFormValue("name"))}, &g); err != nil {
			return err
		}
		return c.done(w, r, "/groups/"+esc(g.ID), "Group "+g.Name+" created.")
	case "delete-group":
		if err := c.api.call(r, s.secret, "DELETE", base+"/groups/"+esc(r.PostFormValue("group")), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/contacts", "Group deleted.")
	}
	return badForm("there is no such action")
}

// contactsCSV passes the API's contacts export through.
func (c *Console) contactsCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.api.download(w, r, s.secret, "/v1/accounts/"+esc(s.me.Account.ID)+"/contacts.csv", nil)
}

// groupData is a group's page.
type groupData struct {
	Group   groupRow
	Members []*accounts.Contact
}

// group shows a group's members, with the form to add numbers.
func (c *Console) group(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.may("contacts") {
		return forbidden("use the contact database")
	}
	base := "/v1/accounts/" + esc(s.me.Account.ID) + "/groups/" + esc(r.PathValue("g"))
	var d groupData
	if err := c.api.call(r, s.secret, "GET", base, nil, nil, &d.Group); err != nil {
		return err
	}
	var ml struct {
		Members []*accounts.Contact `json:"contacts"`
	}
	if err := c.api.call(r, s.secret, "GET", base+"/members", url.Values{"limit": {"1000"}}, nil, &ml); err != nil {
		return err
	}
	d.Members = ml.Members
	return c.show(w, r, s, http.StatusOK, "group", "Group "+d.Group.Name, "contacts", d)
}

// groupAction adds numbers to a group or removes a member.
func (c *Console) groupAction(w http.ResponseWriter, r *http.Request, s *session) error {
	g := r.PathValue("g")
	base := "/v1/accounts/" + esc(s.me.Account.ID) + "/groups/" + esc(g) + "/members"
	switch r.PathValue("op") {
	case "add":
		var change accounts.MembersChange
		nums := splitNumbers(r.PostFormValue("numbers"))
		if err := c.api.call(r, s.secret, "POST", base, nil, map[string]any{"numbers": nums}, &change); err != nil {
			return err
		}
		return c.done(w, r, "/groups/"+esc(g), fmt.Sprintf("%d added (%d new contacts); %d members now.", change.Changed, change.Created, change.Members))
	case "remove":
		if err := c.api.call(r, s.secret, "DELETE", base+"/"+esc(r.PostFormValue("contact")), nil, nil, nil); err != nil {
			return err
		}
		return c.done(w, r, "/groups/"+esc(g), "Removed from the group.")
	}
	return badForm("there is no such action")
}
