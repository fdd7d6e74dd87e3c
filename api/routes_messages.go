package api

import (
	"errors"
	"net/http"

	"github.com/smsgate/smsgate/accounts"
)

// messageList and replyList are the bodies of the list routes.
type messageList struct {
	Messages []*accounts.Message `json:"messages"`
}

type replyList struct {
	Replies []*accounts.Reply `json:"replies"`
}

// queryAccount resolves ?account= (default: the key's own account) and
// authorises reading it.
func (s *server) queryAccount(r *http.Request) (*accounts.Account, int, error) {
	p := principalFrom(r.Context())
	id := r.URL.Query().Get("account")
	if id == "" {
		id = p.acct.ID
	}
	acct, err := s.account(r.Context(), p, id)
	if err != nil {
		return nil, 0, err
	}
	if err := s.allow(p, acct, actRead); err != nil {
		return nil, 0, err
	}
	limit, err := limitParam(r)
	if err != nil {
		return nil, 0, err
	}
	return acct, limit, nil
}

// owned checks that the key may read what belongs to accountID; anything
// else reads as "<what> <id> not found".
func (s *server) owned(r *http.Request, accountID, what, id string) error {
	p := principalFrom(r.Context())
	if accountID == "" {
		return notFound(what, id)
	}
	acct, err := s.account(r.Context(), p, accountID)
	if err != nil {
		var prob *Problem
		if errors.As(err, &prob) && prob.Status == http.StatusNotFound {
			return notFound(what, id)
		}
		return err
	}
	if authorize(p.key, p.acct, acct, actRead) != nil {
		return notFound(what, id)
	}
	return nil
}

func (s *server) listMessages(w http.ResponseWriter, r *http.Request) error {
	acct, limit, err := s.queryAccount(r)
	if err != nil {
		return err
	}
	msgs, err := s.store.ListMessages(r.Context(), acct.ID, limit)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	if msgs == nil {
		msgs = []*accounts.Message{}
	}
	writeJSON(w, http.StatusOK, messageList{Messages: msgs})
	return nil
}

func (s *server) getMessage(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	m, err := s.store.GetMessage(r.Context(), id)
	if err != nil {
		return s.toProblem(r.Context(), err, "message", id)
	}
	if err := s.owned(r, m.AccountID, "message", id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *server) listInbox(w http.ResponseWriter, r *http.Request) error {
	acct, limit, err := s.queryAccount(r)
	if err != nil {
		return err
	}
	replies, err := s.store.ListInbox(r.Context(), acct.ID, limit)
	if err != nil {
		return s.toProblem(r.Context(), err, "account", acct.ID)
	}
	if replies == nil {
		replies = []*accounts.Reply{}
	}
	writeJSON(w, http.StatusOK, replyList{Replies: replies})
	return nil
}

func (s *server) getReply(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	rp, err := s.store.GetReply(r.Context(), id)
	if err != nil {
		return s.toProblem(r.Context(), err, "reply", id)
	}
	if err := s.owned(r, rp.AccountID, "reply", id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rp)
	return nil
}
