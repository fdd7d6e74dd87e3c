package console

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/smsgate/smsgate/accounts"
)

// conversation is the replies from one number, with the messages they
// answer, newest first.
type conversation struct {
	Number  string
	Entries []convEntry
	Unread  int
}

// convEntry is a message sent or a reply received in a conversation.
type convEntry struct {
	Reply   *accounts.Reply
	Message *accounts.Message // what the reply answers (nil: unknown or not visible)
}

// inboxData is the inbox page's data.
type inboxData struct {
	Filter        logFilter
	Conversations []conversation
	NextURL       string
	CSVURL        string
	Accounts      []accounts.Account
}

// inbox lists replies grouped into conversations by number, each reply
// under the message it answers (basic users: replies to their own
// messages only, by the API's rule).
func (c *Console) inbox(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.may("inbox") {
		return forbidden("read the inbox")
	}
	f := filterOf(r)
	f.Status = ""
	var list struct {
		Replies []*accounts.Reply `json:"replies"`
		Next    string            `json:"next"`
	}
	v := c.view(w, r, s, "Inbox", "inbox")
	err := c.api.call(r, s.secret, "GET", "/v1/inbox", f.query(), nil, &list)
	if err := v.showRefusal(err); err != nil {
		return err
	}
	d := inboxData{Filter: f}
	answered := map[string]*accounts.Message{}
	byNumber := map[string]int{}
	for _, rep := range list.Replies {
		var m *accounts.Message
		if rep.MessageID != "" {
			if got, seen := answered[rep.MessageID]; seen {
				m = got
			} else {
				var msg accounts.Message
				if err := c.api.call(r, s.secret, "GET", "/v1/messages/"+esc(rep.MessageID), nil, nil, &msg); err == nil {
					m = &msg
				} else if problemOf(err) == nil {
					return err
				}
				answered[rep.MessageID] = m
			}
		}
		i, ok := byNumber[rep.From]
		if !ok {
			i = len(d.Conversations)
			byNumber[rep.From] = i
			d.Conversations = append(d.Conversations, conversation{Number: rep.From})
		}
		d.Conversations[i].Entries = append(d.Conversations[i].Entries, convEntry{Reply: rep, Message: m})
		if rep.ReadAt.IsZero() {
			d.Conversations[i].Unread++
		}
	}
	if list.Next != "" {
		nf := f
		nf.Cursor = list.Next
		d.NextURL = "/inbox?" + nf.query().Encode()
	}
	if s.may("inbox_export") {
		ef := f
		ef.Cursor = ""
		d.CSVURL = "/inbox.csv?" + ef.query().Encode()
	}
	if d.Accounts, err = c.subAccounts(r, s); err != nil {
		return err
	}
	v.Data = d
	c.render(w, http.StatusOK, "inbox", v)
	return nil
}

// inboxCSV passes the API's inbox export through.
func (c *Console) inboxCSV(w http.ResponseWriter, r *http.Request, s *session) error {
	f := filterOf(r)
	f.Cursor, f.Status = "", ""
	return c.api.download(w, r, s.secret, "/v1/inbox.csv", f.query())
}

// replyState marks a reply read or unread, archived or not.
func (c *Console) replyState(w http.ResponseWriter, r *http.Request, s *session) error {
	body := map[string]bool{}
	for _, k := range []string{"read", "archived"} {
		if v := r.PostFormValue(k); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return badForm("%s: %q must be true or false", k, v)
			}
			body[k] = b
		}
	}
	if err := c.api.call(r, s.secret, "PATCH", "/v1/inbox/"+esc(r.PathValue("id")), nil, body, nil); err != nil {
		return err
	}
	back := "/inbox"
	if q := r.PostFormValue("back"); q != "" {
		if _, err := url.ParseQuery(q); err == nil {
			back += "?" + q
		}
	}
	return c.done(w, r, back, "")
}
