package api

import (
	"context"
	"net/http"

	"github.com/smsgate/smsgate/accounts"
)

// inboxRoutes are the routes of the inbox (replies to sent messages:
// listing, reading, exporting, marking read or archived) and of the
// account's reply routing rules.
func (s *server) inboxRoutes() []route {
	return []route{
		{"GET /v1/inbox", true, s.h(s.listInbox)},
		{"GET /v1/inbox/{id}", true, s.h(s.getReply)},
		{"GET /v1/inbox.csv", true, s.h(s.exportInbox)},
		{"PATCH /v1/inbox/{id}", true, s.h(s.patchReply)},
		{"GET /v1/accounts/{id}/reply-rules", true, s.h(s.getReplyRules)},
		{"PUT /v1/accounts/{id}/reply-rules", true, s.h(s.putReplyRules)},
	}
}

// InboxStore is what the inbox area needs of the account store: replies
// (their listing, reading and state) and the reply routing rules.
type InboxStore interface {
	QueryInbox(ctx context.Context, q accounts.InboxQuery) ([]*accounts.Reply, string, error)
	GetReply(ctx context.Context, id string) (*accounts.Reply, error)
	SetReplyState(ctx context.Context, id string, ch accounts.ReplyStateChange) (*accounts.Reply, error)
	ReplyRules(ctx context.Context, accountID string) (accounts.ReplyRules, bool, error)
	SetReplyRules(ctx context.Context, accountID string, ch accounts.ReplyRulesChange) (accounts.ReplyRules, error)
}

// replyList is the body of GET /v1/inbox. Next is the cursor of the next
// page, absent at the end.
type replyList struct {
	Replies []*accounts.Reply `json:"replies"`
	Next    string            `json:"next,omitempty"`
}

// inboxQuery turns a logQuery into the store's inbox query.
func (q *logQuery) inboxQuery() accounts.InboxQuery {
	return accounts.InboxQuery{AccountID: q.acct.ID, Sender: q.sender, Number: q.number,
		State: q.state, From: q.from, To: q.to, Limit: q.limit, Cursor: q.cursor}
}

func (s *server) listInbox(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseLogQuery(r, actInbox, false)
	if err != nil {
		return err
	}
	replies, next, err := s.inbox.QueryInbox(r.Context(), q.inboxQuery())
	if err != nil {
		return s.queryProblem(r.Context(), err, q.acct.ID)
	}
	if replies == nil {
		replies = []*accounts.Reply{}
	}
	writeJSON(w, http.StatusOK, replyList{Replies: replies, Next: next})
	return nil
}

func (s *server) getReply(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	rp, err := s.inbox.GetReply(r.Context(), id)
	if err != nil {
		return s.toProblem(r.Context(), err, "reply", id)
	}
	if err := s.owned(r, actInbox, rp.AccountID, rp.Sender, "reply", id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rp)
	return nil
}

func (s *server) exportInbox(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseLogQuery(r, actInboxExport, false) // first, so that another tenant's account is a 404, not a 403
	if err == nil {
		err = noBasicExport(principalFrom(r.Context()), "inbox")
	}
	if err != nil {
		return err
	}
	iq := q.inboxQuery()
	iq.Limit = exportPage
	replies, next, err := s.inbox.QueryInbox(r.Context(), iq)
	if err != nil {
		return s.queryProblem(r.Context(), err, q.acct.ID)
	}
	cw := csvStart(w, "inbox-"+q.acct.ID+".csv", []string{"id", "received_at", "account_id", "message_id",
		"sender", "from", "to", "text", "read_at", "archived_at"})
	for {
		for _, rp := range replies {
			_ = cw.Write([]string{rp.ID, csvTime(rp.ReceivedAt), rp.AccountID, rp.MessageID, cell(rp.Sender),
				rp.From, rp.To, cell(rp.Text), csvTime(rp.ReadAt), csvTime(rp.ArchivedAt)})
		}
		cw.Flush()
		if err := cw.Error(); err != nil || next == "" {
			return nil
		}
		iq.Cursor = next
		if replies, next, err = s.inbox.QueryInbox(r.Context(), iq); err != nil {
			s.csvAbort(r.Context(), "inbox of "+q.acct.ID, err)
		}
	}
}

// replyStateBody is the body of PATCH /v1/inbox/{id}; an absent field is
// left as it is.
type replyStateBody struct {
	Read     *bool `json:"read"`
	Archived *bool `json:"archived"`
}

// patchReply marks a reply read or unread, archived or unarchived. Whoever
// may read the reply may change its state (actInbox: a basic user only on
// replies to their own messages); anyone else gets 404, as for GET.
func (s *server) patchReply(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	rp, err := s.inbox.GetReply(r.Context(), id)
	if err != nil {
		return s.toProblem(r.Context(), err, "reply", id)
	}
	if err := s.owned(r, actInbox, rp.AccountID, rp.Sender, "reply", id); err != nil {
		return err
	}
	var in replyStateBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Read == nil && in.Archived == nil {
		return invalid("body: give read, archived or both")
	}
	updated, err := s.inbox.SetReplyState(r.Context(), id, accounts.ReplyStateChange{Read: in.Read, Archived: in.Archived})
	if err != nil {
		return s.toProblem(r.Context(), err, "reply", id)
	}
	writeJSON(w, http.StatusOK, updated)
	return nil
}

// replyRulesView is the answer of both reply-rules routes. Stored is false
// while the account has never set rules (the defaults are in force).
type replyRulesView struct {
	AccountID  string   `json:"account_id"`
	MailSender bool     `json:"mail_sender"`
	ForwardTo  []string `json:"forward_to"`
	Webhook    bool     `json:"webhook"`
	Stored     bool     `json:"stored"`
}

func viewReplyRules(id string, r accounts.ReplyRules, stored bool) replyRulesView {
	v := replyRulesView{AccountID: id, MailSender: r.MailSender, ForwardTo: r.ForwardTo, Webhook: r.Webhook, Stored: stored}
	if v.ForwardTo == nil {
		v.ForwardTo = []string{}
	}
	return v
}

// replyRulesBody is the body of PUT /v1/accounts/{id}/reply-rules; an
// absent field is left as it is.
type replyRulesBody struct {
	MailSender *bool     `json:"mail_sender"`
	ForwardTo  *[]string `json:"forward_to"`
	Webhook    *bool     `json:"webhook"`
}

// getReplyRules: the rules are messaging settings (actSettings).
func (s *server) getReplyRules(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSettings)
	if err != nil {
		return err
	}
	rules, stored, err := s.inbox.ReplyRules(r.Context(), acct.ID)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, viewReplyRules(acct.ID, rules, stored))
	return nil
}

// putReplyRules changes the fields given; a bad address is a 422 naming
// it ("forward_to[1]: ...").
func (s *server) putReplyRules(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.target(r, actSettings)
	if err != nil {
		return err
	}
	var in replyRulesBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.MailSender == nil && in.ForwardTo == nil && in.Webhook == nil {
		return invalid("body: give mail_sender, forward_to, webhook or several")
	}
	rules, err := s.inbox.SetReplyRules(r.Context(), acct.ID,
		accounts.ReplyRulesChange{MailSender: in.MailSender, ForwardTo: in.ForwardTo, Webhook: in.Webhook})
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	writeJSON(w, http.StatusOK, viewReplyRules(acct.ID, rules, true))
	return nil
}
