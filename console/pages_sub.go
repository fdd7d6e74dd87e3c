package console

import (
	"net/http"
	"slices"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/api"
)

// subData is a sub-account's page for its parent's administrators.
type subData struct {
	Account     accounts.Account
	Owner       *accounts.Member
	Members     int
	Flags       []flagRow
	KeyPrefixes []string
}

// flagRow is one permission flag: granted (the ceiling the parent sets)
// and enabled (in force, never beyond the grant).
type flagRow struct {
	Name             string
	Granted, Enabled bool
}

// subAccount shows one sub-account with the parent administrators' forms:
// rename, status, auto-recharge and low-balance alert, permission flags,
// delete.
func (c *Console) subAccount(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	if id == s.me.Account.ID || len(s.me.MayOnSubs) == 0 {
		return accountNotFound(id)
	}
	var d subData
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(id), nil, nil, &d.Account); err != nil {
		return err
	}
	var ml struct {
		Members []accounts.Member `json:"members"`
	}
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(id)+"/members", nil, nil, &ml); err != nil {
		return err
	}
	d.Members = len(ml.Members)
	for i := range ml.Members {
		if ml.Members[i].Owner {
			d.Owner = &ml.Members[i]
		}
	}
	for _, f := range accounts.Flags() {
		d.Flags = append(d.Flags, flagRow{Name: f, Granted: slices.Contains(d.Account.Permissions.Granted, f),
			Enabled: slices.Contains(d.Account.Permissions.Enabled, f)})
	}
	return c.show(w, r, s, http.StatusOK, "sub", d.Account.Name, "team", d)
}

// accountNotFound is the API's answer for an account outside the user's
// reach: not found, whether or not it exists.
func accountNotFound(id string) error {
	return &api.Problem{Status: http.StatusNotFound, Title: "Not found", Detail: "account " + id + ": not found"}
}

// subSettings saves a sub-account's limits (auto-recharge, low-balance
// alert) or its permission flags.
func (c *Console) subSettings(w http.ResponseWriter, r *http.Request, s *session, id, op string) (string, error) {
	cur := s.me.Account.Currency
	base := "/v1/accounts/" + esc(id)
	switch op {
	case "recharge":
		threshold, err := parseAmount("threshold", orZero(r.PostFormValue("threshold")), cur)
		if err != nil {
			return "", err
		}
		amount, err := parseAmount("amount", orZero(r.PostFormValue("amount")), cur)
		if err != nil {
			return "", err
		}
		low, err := parseAmount("low_balance", orZero(r.PostFormValue("low_balance")), cur)
		if err != nil {
			return "", err
		}
		body := map[string]any{"auto_recharge": accounts.AutoRecharge{Threshold: threshold, Amount: amount}, "low_balance_threshold": low}
		if err := c.api.call(r, s.secret, "PATCH", base, nil, body, nil); err != nil {
			return "", err
		}
		return "Balance settings saved.", nil
	case "permissions":
		if err := r.ParseForm(); err != nil {
			return "", badForm("form: %v", err)
		}
		granted, enabled := r.PostForm["granted"], r.PostForm["enabled"]
		if granted == nil {
			granted = []string{}
		}
		if enabled == nil {
			enabled = []string{}
		}
		body := map[string]any{"granted": granted, "enabled": enabled}
		if err := c.api.call(r, s.secret, "PUT", base+"/permissions", nil, body, nil); err != nil {
			return "", err
		}
		return "Permissions saved.", nil
	}
	return "", badForm("there is no such action")
}

// orZero is s, or "0" when empty.
func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
