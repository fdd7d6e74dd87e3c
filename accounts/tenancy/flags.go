package tenancy

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/store"
)

var (
	//go:embed lua/flags_set.lua
	flagsSetLua    string
	flagsSetScript = store.NewScript("tenancy/flags_set.lua", flagsSetLua)
)

// SetPermissions changes the flags of sub-account accountID. A nil Granted
// or Enabled keeps the stored list (a kept Enabled is clipped to a new
// Granted). Unknown flags are ErrInvalid, naming the flag.
//
// byParent is the parent's administrators: they set Granted and Enabled,
// Enabled within Granted (ErrInvalid otherwise). Otherwise the caller is the
// sub-account's own administrator (holding modify_users): only Enabled may
// change, and only within the stored Granted; a flag outside it, or any
// change of Granted, is ErrNotPermitted naming it. The check and the write
// run in one Lua script, so a grant withdrawn concurrently cannot be raced.
// Root accounts have every flag: ErrInvalid. ErrNotFound for an unknown id.
func (s *Store) SetPermissions(ctx context.Context, accountID string, p accounts.Permissions, byParent bool) error {
	key, err := s.AcctKey(accountID)
	if err != nil {
		return err
	}
	p, err = accounts.NormPermissions(p)
	if err != nil {
		return err
	}
	mode := "self"
	if byParent {
		mode = "parent"
	}
	given := func(l []string) (string, string) {
		if l == nil {
			return "0", ""
		}
		return "1", strings.Join(l, ",")
	}
	hg, g := given(p.Granted)
	he, e := given(p.Enabled)
	res, err := s.Run(ctx, flagsSetScript, []string{key}, mode, hg, g, he, e).StringSlice()
	if err != nil {
		return fmt.Errorf("set permissions of %s: %w", accountID, err)
	}
	if len(res) == 0 {
		return fmt.Errorf("set permissions of %s: empty script reply", accountID)
	}
	switch res[0] {
	case "ok":
		return nil
	case "notfound":
		return fmt.Errorf("set permissions: account %q: %w", accountID, accounts.ErrNotFound)
	case "root":
		return accounts.Invalidf("permissions: %s is a parent account and has every flag", accountID)
	case "grant":
		return fmt.Errorf("%w: granted: only the parent account's administrators may change the flags granted to %s", accounts.ErrNotPermitted, accountID)
	case "notgranted":
		flag := ""
		if len(res) > 1 {
			flag = res[1]
		}
		if byParent {
			return accounts.Invalidf("enabled: flag %s is not granted", flag)
		}
		return fmt.Errorf("%w: enabled: flag %s was not granted to %s by its parent account", accounts.ErrNotPermitted, flag, accountID)
	}
	return fmt.Errorf("set permissions of %s: unexpected script reply %q", accountID, res[0])
}
