package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/smsgate/smsgate/accounts"
)

// cliPolicyCommands read and set an account's sender policy
// (/v1/accounts/{id}/sender-policy).
func cliPolicyCommands() map[string]command {
	return map[string]command{
		"policy get": {"--account ID", ofAccount("/sender-policy", false, printPolicy)},
		"policy set": {"--account ID [--networks CIDR,...] [--spf on|off] [--dkim on|off] | --inherit", policySet},
	}
}

// policyOut is the answer of the sender-policy routes.
type policyOut struct {
	Networks []string `json:"networks"`
	SPF      bool     `json:"spf"`
	DKIM     bool     `json:"dkim"`
	Source   string   `json:"source"`
	From     string   `json:"from"`
}

func printPolicy(w io.Writer, p policyOut) {
	onOff := map[bool]string{true: "on", false: "off"}
	nets := strings.Join(p.Networks, ", ")
	if nets == "" {
		nets = "none"
	}
	fmt.Fprintf(w, "networks\t%s\n", nets)
	fmt.Fprintf(w, "spf\t%s\n", onOff[p.SPF])
	fmt.Fprintf(w, "dkim\t%s\n", onOff[p.DKIM])
	switch p.Source {
	case accounts.PolicyParent:
		fmt.Fprintf(w, "source\tinherited from %s\n", p.From)
	case accounts.PolicyDefault:
		fmt.Fprintln(w, "source\tdefault")
	default:
		fmt.Fprintln(w, "source\tthis account")
	}
	fmt.Fprintln(w, "auth\tSMTP AUTH with a credential of the account always authorises")
}

// policySet changes what its flags name and keeps the rest of the policy
// in force (GET, then PUT of the whole policy); --inherit drops the
// account's own.
func policySet(fs *flag.FlagSet) runFunc {
	acct := accountFlag(fs)
	networks := fs.String("networks", "", "allowed source `CIDRs`, comma-separated (\"\" for none)")
	spf := fs.String("spf", "", "SPF pass authorises: `on|off`")
	dkim := fs.String("dkim", "", "an aligned DKIM signature authorises: `on|off`")
	inherit := fs.Bool("inherit", false, "drop the account's own policy: use the parent's (or the default)")
	return func(ctx context.Context, c *client, _ []string) error {
		id, err := acct()
		if err != nil {
			return err
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		path := "/v1/accounts/" + esc(id) + "/sender-policy"
		if *inherit {
			if set["networks"] || set["spf"] || set["dkim"] {
				return usagef("--inherit takes no other policy flag")
			}
			return call(ctx, c, "PUT", path, map[string]any{"inherit": true}, printPolicy)
		}
		if !set["networks"] && !set["spf"] && !set["dkim"] {
			return usagef("give at least one of --networks, --spf, --dkim, or --inherit")
		}
		data, err := c.api.Do(ctx, "GET", path, nil)
		if err != nil {
			return err
		}
		var p policyOut
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("decode sender policy of %s: %w", id, err)
		}
		if set["networks"] {
			p.Networks = []string{}
			for n := range strings.SplitSeq(*networks, ",") {
				if n = strings.TrimSpace(n); n != "" {
					p.Networks = append(p.Networks, n)
				}
			}
		}
		for name, dst := range map[string]*bool{"spf": &p.SPF, "dkim": &p.DKIM} {
			if !set[name] {
				continue
			}
			switch v := map[string]*string{"spf": spf, "dkim": dkim}[name]; *v {
			case "on":
				*dst = true
			case "off":
				*dst = false
			default:
				return usagef("--%s: %q is not on or off", name, *v)
			}
		}
		body := map[string]any{"networks": p.Networks, "spf": p.SPF, "dkim": p.DKIM}
		return call(ctx, c, "PUT", path, body, printPolicy)
	}
}
