package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/phone"
)

// contactRoutes are the routes of contacts and groups (issue 4 item 1).
// Contacts and groups need actContacts (flag use_database) on the account
// in the path; a sub-account sees its parent's groups shared with it
// read-only (listing and members, no change). Sharing a root's group with
// its sub-accounts needs the root's parent_admin (actShareGroups, seed 001).
func (s *server) contactRoutes() []route {
	return []route{
		{"GET /v1/accounts/{id}/contacts", true, s.h(s.listContacts)},
		{"POST /v1/accounts/{id}/contacts", true, s.h(s.createContact)},
		{"GET /v1/accounts/{id}/contacts/{contact}", true, s.h(s.getContact)},
		{"PATCH /v1/accounts/{id}/contacts/{contact}", true, s.h(s.patchContact)},
		{"DELETE /v1/accounts/{id}/contacts/{contact}", true, s.h(s.deleteContact)},
		{"POST /v1/accounts/{id}/contacts.csv", true, s.h(s.importContacts)},
		{"GET /v1/accounts/{id}/contacts.csv", true, s.h(s.exportContacts)},

		{"GET /v1/accounts/{id}/groups", true, s.h(s.listGroups)},
		{"POST /v1/accounts/{id}/groups", true, s.h(s.createGroup)},
		{"GET /v1/accounts/{id}/groups/{group}", true, s.h(s.getGroup)},
		{"PATCH /v1/accounts/{id}/groups/{group}", true, s.h(s.renameGroup)},
		{"DELETE /v1/accounts/{id}/groups/{group}", true, s.h(s.deleteGroup)},
		{"GET /v1/accounts/{id}/groups/{group}/members", true, s.h(s.listGroupMembers)},
		{"POST /v1/accounts/{id}/groups/{group}/members", true, s.h(s.addGroupMembers)},
		{"DELETE /v1/accounts/{id}/groups/{group}/members/{member}", true, s.h(s.removeGroupMember)},
		{"PUT /v1/accounts/{id}/groups/{group}/sharing", true, s.h(s.shareGroup("set"))},
		{"POST /v1/accounts/{id}/groups/{group}/sharing", true, s.h(s.shareGroup("add"))},
		{"DELETE /v1/accounts/{id}/groups/{group}/sharing/{sub}", true, s.h(s.shareGroup("rem"))},
	}
}

// contactStore is what this area needs of the account store.
type contactStore interface {
	UpsertContact(ctx context.Context, accountID string, in accounts.ContactInput) (*accounts.Contact, bool, error)
	GetContact(ctx context.Context, accountID, id string) (*accounts.Contact, error)
	UpdateContact(ctx context.Context, accountID, id string, p accounts.ContactPatch) (*accounts.Contact, error)
	DeleteContact(ctx context.Context, accountID, id string) error
	ListContacts(ctx context.Context, accountID string, q accounts.ContactQuery) ([]*accounts.Contact, string, error)
	ImportContacts(ctx context.Context, accountID string, r io.Reader, groupID string) (*accounts.ImportResult, error)
	ExportContacts(ctx context.Context, accountID string, w io.Writer) error

	CreateGroup(ctx context.Context, accountID, name string) (*accounts.Group, error)
	GroupFor(ctx context.Context, accountID, id string) (*accounts.Group, bool, error)
	ListGroups(ctx context.Context, accountID string) ([]*accounts.Group, error)
	RenameGroup(ctx context.Context, accountID, id, name string) (*accounts.Group, error)
	DeleteGroup(ctx context.Context, accountID, id string) error
	GroupMembers(ctx context.Context, id string) ([]*accounts.Contact, error)
	AddGroupMembers(ctx context.Context, accountID, id string, contactIDs, numbers []string) (*accounts.MembersChange, error)
	RemoveGroupMembers(ctx context.Context, accountID, id string, contactIDs, numbers []string) (*accounts.MembersChange, error)
	SetGroupSharing(ctx context.Context, accountID, id string, subs []string) (*accounts.Group, error)
	ShareGroup(ctx context.Context, accountID, id string, subs []string) (*accounts.Group, error)
	UnshareGroup(ctx context.Context, accountID, id string, subs []string) (*accounts.Group, error)
}

// Bodies of this area's routes.
type (
	contactList struct {
		Contacts []*accounts.Contact `json:"contacts"`
		Next     string              `json:"next,omitempty"` // cursor of the next page
	}
	// groupView is a group as the account in the path sees it: ReadOnly
	// when it is the parent's group shared with it (then SharedWith is
	// not shown: the other sub-accounts are none of its business).
	groupView struct {
		*accounts.Group
		ReadOnly bool `json:"read_only"`
	}
	groupList struct {
		Groups []groupView `json:"groups"`
	}
	groupBody struct {
		Name string `json:"name"`
	}
	membersBody struct {
		Contacts []string `json:"contacts"`
		Numbers  []string `json:"numbers"`
	}
	sharingBody struct {
		SubAccounts []string `json:"sub_accounts"`
	}
)

func (s *server) listContacts(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	cq := accounts.ContactQuery{Limit: limit, After: q.Get("after")}
	exact := ""
	switch {
	case q.Get("number") != "":
		n, err := phone.Normalize(q.Get("number"), acct.DefaultCountry)
		if err != nil {
			return badRequest("number: %q is not a phone number: %s", q.Get("number"), strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": "))
		}
		cq.Prefix, exact = n, n
	case q.Get("prefix") != "":
		p := strings.TrimPrefix(strings.TrimSpace(q.Get("prefix")), "+")
		if strings.ContainsFunc(p, func(r rune) bool { return r < '0' || r > '9' }) {
			return badRequest("prefix: %q must be the leading digits of E.164 numbers", q.Get("prefix"))
		}
		cq.Prefix = p
	}
	cs, next, err := s.store.ListContacts(r.Context(), acct.ID, cq)
	if err != nil {
		return s.contactProblem(r.Context(), err, "account", acct.ID)
	}
	if exact != "" {
		cs = filterExact(cs, exact)
		next = ""
	}
	writeJSON(w, http.StatusOK, contactList{Contacts: cs, Next: next})
	return nil
}

func filterExact(cs []*accounts.Contact, number string) []*accounts.Contact {
	out := []*accounts.Contact{}
	for _, c := range cs {
		if c.Number == number {
			out = append(out, c)
		}
	}
	return out
}

func (s *server) createContact(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	var in accounts.ContactInput
	if err := decode(r, &in); err != nil {
		return err
	}
	c, created, err := s.store.UpsertContact(r.Context(), acct.ID, in)
	if err != nil {
		return s.contactProblem(r.Context(), err, "account", acct.ID)
	}
	status := http.StatusOK // merged into the contact with that number
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, c)
	return nil
}

func (s *server) getContact(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	id := r.PathValue("contact")
	c, err := s.store.GetContact(r.Context(), acct.ID, id)
	if err != nil {
		return s.contactProblem(r.Context(), err, "contact", id)
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *server) patchContact(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	var p accounts.ContactPatch
	if err := decode(r, &p); err != nil {
		return err
	}
	id := r.PathValue("contact")
	c, err := s.store.UpdateContact(r.Context(), acct.ID, id, p)
	if err != nil {
		return s.contactProblem(r.Context(), err, "contact", id)
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	id := r.PathValue("contact")
	if err := s.store.DeleteContact(r.Context(), acct.ID, id); err != nil {
		return s.contactProblem(r.Context(), err, "contact", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// importContacts reads a CSV file (the body, text/csv) into the account's
// contacts; ?group=<id> also adds them to one of its groups.
func (s *server) importContacts(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		switch mt {
		case "text/csv", "application/csv", "text/plain", "application/octet-stream":
		default:
			return problemf(http.StatusUnsupportedMediaType, "unsupported-media-type",
				"Content-Type: %q: send the file itself as text/csv", ct)
		}
	}
	group := r.URL.Query().Get("group")
	res, err := s.store.ImportContacts(r.Context(), acct.ID, r.Body, group)
	if err != nil {
		return s.contactProblem(r.Context(), err, "group", group)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *server) exportContacts(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	var buf strings.Builder
	if err := s.store.ExportContacts(r.Context(), acct.ID, &buf); err != nil {
		return s.contactProblem(r.Context(), err, "account", acct.ID)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="contacts-`+acct.ID+`.csv"`)
	_, _ = io.WriteString(w, buf.String())
	return nil
}

func (s *server) listGroups(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	gs, err := s.store.ListGroups(r.Context(), acct.ID)
	if err != nil {
		return s.contactProblem(r.Context(), err, "account", acct.ID)
	}
	out := groupList{Groups: make([]groupView, 0, len(gs))}
	for _, g := range gs {
		out.Groups = append(out.Groups, viewGroup(g, g.AccountID != acct.ID))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// viewGroup hides the sharing list of a group shared read-only.
func viewGroup(g *accounts.Group, readOnly bool) groupView {
	if readOnly {
		c := *g
		c.SharedWith = nil
		g = &c
	}
	return groupView{Group: g, ReadOnly: readOnly}
}

func (s *server) createGroup(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	var in groupBody
	if err := decode(r, &in); err != nil {
		return err
	}
	g, err := s.store.CreateGroup(r.Context(), acct.ID, in.Name)
	if err != nil {
		return s.contactProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusCreated, viewGroup(g, false))
	return nil
}

// group loads the {group} of the request as the target account sees it.
func (s *server) group(r *http.Request, acct *accounts.Account) (*accounts.Group, bool, error) {
	id := r.PathValue("group")
	g, ro, err := s.store.GroupFor(r.Context(), acct.ID, id)
	if err != nil {
		return nil, false, s.contactProblem(r.Context(), err, "group", id)
	}
	return g, ro, nil
}

func (s *server) getGroup(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	g, ro, err := s.group(r, acct)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewGroup(g, ro))
	return nil
}

func (s *server) renameGroup(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	var in groupBody
	if err := decode(r, &in); err != nil {
		return err
	}
	id := r.PathValue("group")
	g, err := s.store.RenameGroup(r.Context(), acct.ID, id, in.Name)
	if err != nil {
		return s.contactProblem(r.Context(), err, "group", id)
	}
	writeJSON(w, http.StatusOK, viewGroup(g, false))
	return nil
}

func (s *server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	id := r.PathValue("group")
	if err := s.store.DeleteGroup(r.Context(), acct.ID, id); err != nil {
		return s.contactProblem(r.Context(), err, "group", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listGroupMembers pages through a group's members by number (?after=,
// ?limit=); shared groups too.
func (s *server) listGroupMembers(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	g, _, err := s.group(r, acct)
	if err != nil {
		return err
	}
	cs, err := s.store.GroupMembers(r.Context(), g.ID)
	if err != nil {
		return s.contactProblem(r.Context(), err, "group", g.ID)
	}
	after := r.URL.Query().Get("after")
	page := []*accounts.Contact{}
	next := ""
	for _, c := range cs {
		if after != "" && c.Number <= after {
			continue
		}
		if len(page) == limit {
			next = page[len(page)-1].Number
			break
		}
		page = append(page, c)
	}
	writeJSON(w, http.StatusOK, contactList{Contacts: page, Next: next})
	return nil
}

func (s *server) addGroupMembers(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	var in membersBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Contacts) == 0 && len(in.Numbers) == 0 {
		return invalid("body: give contacts (contact ids), numbers, or both")
	}
	if n := len(in.Contacts) + len(in.Numbers); n > maxLimit {
		return invalid("body: %d members at once, at most %d (import a CSV file with ?group= for more)", n, maxLimit)
	}
	id := r.PathValue("group")
	ch, err := s.store.AddGroupMembers(r.Context(), acct.ID, id, in.Contacts, in.Numbers)
	if err != nil {
		return s.contactProblem(r.Context(), err, "group", id)
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

// removeGroupMember takes {member}, a contact id or a number, out of the
// group; the contact stays.
func (s *server) removeGroupMember(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actContacts)
	if err != nil {
		return err
	}
	id, member := r.PathValue("group"), r.PathValue("member")
	var ids, numbers []string
	if strings.HasPrefix(member, "c") && strings.Contains(member, "-") {
		ids = []string{member}
	} else {
		numbers = []string{member}
	}
	ch, err := s.store.RemoveGroupMembers(r.Context(), acct.ID, id, ids, numbers)
	if err != nil {
		return s.contactProblem(r.Context(), err, "group", id)
	}
	if ch.Changed == 0 {
		return problemf(http.StatusNotFound, "not-found", "member: %s is not a member of group %s", member, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// shareGroup sets (PUT), widens (POST) or revokes (DELETE .../{sub}) the
// sub-accounts a root account's group is shared with.
func (s *server) shareGroup(mode string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		_, acct, err := s.target(r, actShareGroups)
		if err != nil {
			return err
		}
		var subs []string
		if mode == "rem" {
			subs = []string{r.PathValue("sub")}
		} else {
			var in sharingBody
			if err := decode(r, &in); err != nil {
				return err
			}
			if in.SubAccounts == nil {
				return invalid("sub_accounts: required (an empty list revokes all sharing)")
			}
			subs = in.SubAccounts
		}
		id := r.PathValue("group")
		var g *accounts.Group
		switch mode {
		case "set":
			g, err = s.store.SetGroupSharing(r.Context(), acct.ID, id, subs)
		case "add":
			g, err = s.store.ShareGroup(r.Context(), acct.ID, id, subs)
		default:
			g, err = s.store.UnshareGroup(r.Context(), acct.ID, id, subs)
		}
		if err != nil {
			return s.contactProblem(r.Context(), err, "group", id)
		}
		writeJSON(w, http.StatusOK, viewGroup(g, false))
		return nil
	}
}

// contactProblem maps this area's store errors to problems.
func (s *server) contactProblem(ctx context.Context, err error, what, id string) *Problem {
	switch {
	case errors.Is(err, accounts.ErrContactExists):
		return problemf(http.StatusConflict, "contact-exists", "%s", detailAfter(err, accounts.ErrContactExists))
	case errors.Is(err, accounts.ErrGroupExists):
		return problemf(http.StatusConflict, "group-exists", "%s", detailAfter(err, accounts.ErrGroupExists))
	case errors.Is(err, accounts.ErrReadOnly):
		return problemf(http.StatusForbidden, "read-only", "%s", detailAfter(err, accounts.ErrReadOnly))
	case errors.Is(err, accounts.ErrTooLarge):
		return problemf(http.StatusRequestEntityTooLarge, "too-large", "body: %s", detailAfter(err, accounts.ErrTooLarge))
	}
	return s.toProblem(ctx, err, what, id)
}
