package console

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/api"
)

// badForm is a 422 about a form field.
func badForm(format string, args ...any) error {
	return &api.Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid form", Detail: fmt.Sprintf(format, args...)}
}

func itoa(n int) string { return strconv.Itoa(n) }

// teamAccount is a sub-account row of the team page.
type teamAccount struct {
	accounts.Account
	KeyPrefixes []string `json:"key_prefixes"`
	Owner       string   `json:"-"` // the owner's email
}

// teamData is the team page's data.
type teamData struct {
	Root    *teamAccount
	Subs    []teamAccount
	NewKey  string // the secret of a sub-account just created (shown once)
	NewName string
}

// team lists the sub-accounts with status, balance, owner and key
// prefixes, with the parent administrators' actions on each.
func (c *Console) team(w http.ResponseWriter, r *http.Request, s *session) error {
	if len(s.me.MayOnSubs) == 0 && !s.may("create_sub") {
		return forbidden("manage sub-accounts (parent administrators only)")
	}
	d, err := c.teamData(r, s)
	if err != nil {
		return err
	}
	return c.show(w, r, s, http.StatusOK, "team", "Team", "team", d)
}

// teamData lists the user's account and its sub-accounts, each with its
// owner (the member marked owner, if any).
func (c *Console) teamData(r *http.Request, s *session) (*teamData, error) {
	var list struct {
		Accounts []teamAccount `json:"accounts"`
	}
	if err := c.api.call(r, s.secret, "GET", "/v1/accounts", nil, nil, &list); err != nil {
		return nil, err
	}
	d := &teamData{}
	for i := range list.Accounts {
		a := &list.Accounts[i]
		if a.ID == s.me.Account.ID {
			d.Root = a
			continue
		}
		if s.maySub("users_view") {
			var ml struct {
				Members []accounts.Member `json:"members"`
			}
			if err := c.api.call(r, s.secret, "GET", "/v1/accounts/"+esc(a.ID)+"/members", nil, nil, &ml); err != nil {
				return nil, err
			}
			for _, m := range ml.Members {
				if m.Owner {
					a.Owner = m.Email
				}
			}
		}
		d.Subs = append(d.Subs, *a)
	}
	return d, nil
}

// createSub creates a sub-account; its first key's secret is shown once.
func (c *Console) createSub(w http.ResponseWriter, r *http.Request, s *session) error {
	var out struct {
		accounts.Account
		Key struct {
			Secret string `json:"secret"`
		} `json:"key"`
	}
	body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name"))}
	if e := strings.TrimSpace(r.PostFormValue("contact_email")); e != "" {
		body["contact_email"] = e
	}
	if err := c.api.call(r, s.secret, "POST", "/v1/accounts", nil, body, &out); err != nil {
		return err
	}
	// The key is shown on this answer only, never stored by the console.
	d, err := c.teamData(r, s)
	if err != nil {
		return err
	}
	d.NewKey, d.NewName = out.Key.Secret, out.Name
	v := c.view(w, r, s, "Team", "team")
	v.Flash = "Sub-account " + out.Name + " (" + out.ID + ") created."
	v.Data = d
	c.render(w, http.StatusCreated, "team", v)
	return nil
}

// parseAmount reads a money field in major units ("12.50") as minor units
// of the account's currency.
func parseAmount(field, s, cur string) (int64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	digits, ok := minorDigits[strings.ToUpper(cur)]
	if !ok {
		digits = 2
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > digits || strings.HasPrefix(whole, "-") || strings.HasPrefix(whole, "+") {
		return 0, badForm("%s: %q is not an amount with at most %d decimals", field, s, digits)
	}
	w, err := strconv.ParseInt("0"+whole, 10, 64)
	if err != nil {
		return 0, badForm("%s: %q is not an amount", field, s)
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", digits-len(frac)), 10, 64); err != nil {
			return 0, badForm("%s: %q is not an amount", field, s)
		}
	}
	unit := int64(math.Pow10(digits))
	if w > (1<<50)/unit {
		return 0, badForm("%s: %q is too large", field, s)
	}
	return w*unit + f, nil
}

// subAction is an action of the parent's administrators on a sub-account:
// credit, debit, activate, deactivate, rename, auto-recharge, delete.
func (c *Console) subAction(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	base := "/v1/accounts/" + esc(id)
	cur := s.me.Account.Currency
	var msg string
	switch op := r.PathValue("op"); op {
	case "credit", "debit":
		amt, err := parseAmount("amount", r.PostFormValue("amount"), cur)
		if err != nil {
			return err
		}
		ref := strings.TrimSpace(r.PostFormValue("ref"))
		if err := c.api.call(r, s.secret, "POST", base+"/"+op, nil, map[string]any{"amount": amt, "ref": ref}, nil); err != nil {
			return err
		}
		verb := "Credited"
		if op == "debit" {
			verb = "Debited"
		}
		msg = fmt.Sprintf("%s %s %s.", verb, id, money(amt, cur))
	case "activate", "deactivate":
		if err := c.api.call(r, s.secret, "POST", base+"/"+op, nil, nil, nil); err != nil {
			return err
		}
		msg = "Sub-account " + id + " " + op + "d."
	case "rename":
		if err := c.api.call(r, s.secret, "PATCH", base, nil, map[string]any{"name": strings.TrimSpace(r.PostFormValue("name"))}, nil); err != nil {
			return err
		}
		msg = "Sub-account " + id + " renamed."
	case "delete":
		if r.PostFormValue("confirm") != id {
			return badForm("confirm: type the sub-account's id %s to delete it", id)
		}
		if err := c.api.call(r, s.secret, "DELETE", base, nil, nil, nil); err != nil {
			return err
		}
		msg = "Sub-account " + id + " deleted."
	case "recharge", "permissions":
		m, err := c.subSettings(w, r, s, id, op)
		if err != nil {
			return err
		}
		return c.done(w, r, "/team/"+esc(id), m)
	default:
		return &api.Problem{Status: http.StatusNotFound, Title: "Not found", Detail: "there is no such action"}
	}
	back := "/team"
	if r.PostFormValue("back") == "sub" && r.PathValue("op") != "delete" {
		back = "/team/" + esc(id)
	}
	return c.done(w, r, back, msg)
}
