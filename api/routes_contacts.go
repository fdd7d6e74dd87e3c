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

// contactRoutes are the routes of contacts and groups.
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

// ContactStore is what the contacts area needs of the account store:
// contacts, their CSV import and export, and groups with their members
// and sharing.
type ContactStore interface {
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

// contactCall is the store call of one of this area's routes (see
// contactOp); id is the path value the route names, or the account's id.
type contactCall func(ctx context.Context, acct *accounts.Account, id string) (any, error)

// contactOp is the common course of this area's routes. It resolves the
// account in the path, which must allow act; decodes the JSON body into in
// unless in is nil; and runs call with the {key} path value (the account's
// id when key is ""). An error of call becomes the problem contactProblem
// makes of it about that key ("account" when key is "") and id, so problems
// call returns itself pass through as they are. Otherwise call's result is
// sent with status, and no body for 204 No Content.
func (s *server) contactOp(w http.ResponseWriter, r *http.Request, act action, in any, key string, status int, call contactCall) error {
	_, acct, err := s.target(r, act)
	if err != nil {
		return err
	}
	if in != nil {
		if err := decode(r, in); err != nil {
			return err
		}
	}
	what, id := key, r.PathValue(key)
	if key == "" {
		what, id = "account", acct.ID
	}
	v, err := call(r.Context(), acct, id)
	if err != nil {
		return s.contactProblem(r.Context(), err, what, id)
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return nil
	}
	writeJSON(w, status, v)
	return nil
}

func (s *server) listContacts(w http.ResponseWriter, r *http.Request) error {
	return s.contactOp(w, r, actContacts, nil, "", http.StatusOK, func(ctx context.Context, acct *accounts.Account, _ string) (any, error) {
		limit, err := limitParam(r)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		after, err := afterParam(r)
		if err != nil {
			return nil, err
		}
		cq := accounts.ContactQuery{Limit: limit, After: after}
		exact := ""
		switch {
		case q.Get("number") != "":
			n, err := phone.Normalize(q.Get("number"), acct.DefaultCountry)
			if err != nil {
				return nil, badRequest("number: %q is not a phone number: %s", q.Get("number"), strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": "))
			}
			cq.Prefix, exact = n, n
		case q.Get("prefix") != "":
			p := strings.TrimPrefix(strings.TrimSpace(q.Get("prefix")), "+")
			if strings.ContainsFunc(p, func(r rune) bool { return r < '0' || r > '9' }) {
				return nil, badRequest("prefix: %q must be the leading digits of E.164 numbers", q.Get("prefix"))
			}
			cq.Prefix = p
		}
		cs, next, err := s.contacts.ListContacts(ctx, acct.ID, cq)
		if err != nil {
			return nil, err
		}
		if exact != "" {
			cs = filterExact(cs, exact)
			next = ""
		}
		return contactList{Contacts: cs, Next: next}, nil
	})
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
	c, created, err := s.contacts.UpsertContact(r.Context(), acct.ID, in)
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
	return s.contactOp(w, r, actContacts, nil, "contact", http.StatusOK, func(ctx context.Context, acct *accounts.Account, id string) (any, error) {
		return s.contacts.GetContact(ctx, acct.ID, id)
	})
}

func (s *server) patchContact(w http.ResponseWriter, r *http.Request) error {
	var p accounts.ContactPatch
	return s.contactOp(w, r, actContacts, &p, "contact", http.StatusOK, func(ctx context.Context, acct *accounts.Account, id string) (any, error) {
		return s.contacts.UpdateContact(ctx, acct.ID, id, p)
	})
}

func (s *server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	return s.contactOp(w, r, actContacts, nil, "contact", http.StatusNoContent, func(ctx context.Context, acct *accounts.Account, id string) (any, error) {
		return nil, s.contacts.DeleteContact(ctx, acct.ID, id)
	})
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
	res, err := s.contacts.ImportContacts(r.Context(), acct.ID, r.Body, group)
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
	if err := s.contacts.ExportContacts(r.Context(), acct.ID, &buf); err != nil {
		return s.contactProblem(r.Context(), err, "account", acct.ID)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="contacts-`+acct.ID+`.csv"`)
	_, _ = io.WriteString(w, buf.String())
	return nil
}

func (s *server) listGroups(w http.ResponseWriter, r *http.Request) error {
	return s.contactOp(w, r, actContacts, nil, "", http.StatusOK, func(ctx context.Context, acct *accounts.Account, _ string) (any, error) {
		gs, err := s.contacts.ListGroups(ctx, acct.ID)
		if err != nil {
			return nil, err
		}
		out := groupList{Groups: make([]groupView, 0, len(gs))}
		for _, g := range gs {
			out.Groups = append(out.Groups, viewGroup(g, g.AccountID != acct.ID))
		}
		return out, nil
	})
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
	var in groupBody
	return s.contactOp(w, r, actContacts, &in, "", http.StatusCreated, func(ctx context.Context, acct *accounts.Account, _ string) (any, error) {
		return ownGroup(s.contacts.CreateGroup(ctx, acct.ID, in.Name))
	})
}

// ownGroup is the view of a group the account in the path owns, as a
// change of it returns it (nothing when err is not nil).
func ownGroup(g *accounts.Group, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return viewGroup(g, false), nil
}

// group loads the {group} of the request as the target account sees it.
func (s *server) group(r *http.Request, acct *accounts.Account) (*accounts.Group, bool, error) {
	id := r.PathValue("group")
	g, ro, err := s.contacts.GroupFor(r.Context(), acct.ID, id)
	if err != nil {
		return nil, false, s.contactProblem(r.Context(), err, "group", id)
	}
	return g, ro, nil
}

func (s *server) getGroup(w http.ResponseWriter, r *http.Request) error {
	return s.contactOp(w, r, actContacts, nil, "group", http.StatusOK, func(ctx context.Context, acct *accounts.Account, id string) (any, error) {
		g, ro, err := s.contacts.GroupFor(ctx, acct.ID, id)
		if err != nil {
			return nil, err
		}
		return viewGroup(g, ro), nil
	})
}

func (s *server) renameGroup(w http.ResponseWriter, r *http.Request) error {
	var in groupBody
	return s.contactOp(w, r, actContacts, &in, "group", http.StatusOK, func(ctx context.Context, acct *accounts.Account, id string) (any, error) {
		return ownGroup(s.contacts.RenameGroup(ctx, acct.ID, id, in.Name))
	})
}

func (s *server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	return s.contactOp(w, r, actContacts, nil, "group", http.StatusNoContent, func(ctx context.Context, acct *accounts.Account, id string) (any, error) {
		return nil, s.contacts.DeleteGroup(ctx, acct.ID, id)
	})
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
	cs, err := s.contacts.GroupMembers(r.Context(), g.ID)
	if err != nil {
		return s.contactProblem(r.Context(), err, "group", g.ID)
	}
	after, err := afterParam(r)
	if err != nil {
		return err
	}
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
	var in membersBody
	return s.contactOp(w, r, actContacts, &in, "group", http.StatusOK, func(ctx context.Context, acct *accounts.Account, id string) (any, error) {
		if len(in.Contacts) == 0 && len(in.Numbers) == 0 {
			return nil, invalid("body: give contacts (contact ids), numbers, or both")
		}
		if n := len(in.Contacts) + len(in.Numbers); n > maxLimit {
			return nil, invalid("body: %d members at once, at most %d (import a CSV file with ?group= for more)", n, maxLimit)
		}
		return s.contacts.AddGroupMembers(ctx, acct.ID, id, in.Contacts, in.Numbers)
	})
}

// removeGroupMember takes {member}, a contact id or a number, out of the
// group; the contact stays.
func (s *server) removeGroupMember(w http.ResponseWriter, r *http.Request) error {
	return s.contactOp(w, r, actContacts, nil, "group", http.StatusNoContent, func(ctx context.Context, acct *accounts.Account, id string) (any, error) {
		member := r.PathValue("member")
		var ids, numbers []string
		if strings.HasPrefix(member, "c") && strings.Contains(member, "-") {
			ids = []string{member}
		} else {
			numbers = []string{member}
		}
		ch, err := s.contacts.RemoveGroupMembers(ctx, acct.ID, id, ids, numbers)
		if err != nil {
			return nil, err
		}
		if ch.Changed == 0 {
			return nil, problemf(http.StatusNotFound, "not-found", "member: %s is not a member of group %s", member, id)
		}
		return nil, nil
	})
}

// shareGroup sets (PUT), widens (POST) or revokes (DELETE .../{sub}) the
// sub-accounts a root account's group is shared with.
func (s *server) shareGroup(mode string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in sharingBody
		var body any = &in // revoking one sub-account has no body
		if mode == "rem" {
			body = nil
		}
		return s.contactOp(w, r, actShareGroups, body, "group", http.StatusOK, func(ctx context.Context, acct *accounts.Account, id string) (any, error) {
			if mode == "rem" {
				return ownGroup(s.contacts.UnshareGroup(ctx, acct.ID, id, []string{r.PathValue("sub")}))
			}
			if in.SubAccounts == nil {
				return nil, invalid("sub_accounts: required (an empty list revokes all sharing)")
			}
			if mode == "set" {
				return ownGroup(s.contacts.SetGroupSharing(ctx, acct.ID, id, in.SubAccounts))
			}
			return ownGroup(s.contacts.ShareGroup(ctx, acct.ID, id, in.SubAccounts))
		})
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

// afterParam reads ?after=, the cursor of the contact lists: the number
// (digits) that ended the previous page, as its "next" gave it.
func afterParam(r *http.Request) (string, error) {
	after := r.URL.Query().Get("after")
	if after == "" {
		return "", nil
	}
	if len(after) > 20 || strings.IndexFunc(after, func(c rune) bool { return c < '0' || c > '9' }) >= 0 {
		return "", badRequest("after: %q is not a cursor of this list (pass next of the previous page: a number's digits)", after)
	}
	return after, nil
}
