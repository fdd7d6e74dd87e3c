// Command smsgate is the Email-to-SMS gateway daemon and its admin CLI.
//
//	smsgate serve --config FILE        run the daemon (SMTP, dispatch, HTTP)
//	smsgate config check FILE          validate a configuration file
//	smsgate admin bootstrap ...        create the first parent account (direct to Redis)
//	smsgate admin credit ...           operator top-up of a parent account (direct to Redis)
//	smsgate <resource> <verb> ...      admin commands over the REST API
package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)) }

const usage = `usage: smsgate <command> [arguments]

daemon and operator commands (straight to Redis, with the daemon's configuration):
  serve --config FILE                      run the gateway
  config check [--print] FILE              validate a configuration file, listing every error
  admin bootstrap --config FILE --name N [--country CC] [--currency CUR] [--credit AMOUNT]
                                           create the first parent account; prints its admin API key once
  admin credit --config FILE --account ID AMOUNT [--ref R]
                                           operator top-up of a parent account, in minor units
  admin number add|remove --config FILE --account ROOT NUMBER
                                           give a dedicated number to a parent account, or take it back
  admin ledger compact --config FILE --account ID --before YYYY-MM-DD --actor NAME
                                           fold the older ledger entries into a signed-off opening balance

admin commands over the API (SMSGATE_URL, SMSGATE_API_KEY, else "url =" and "key =" lines
in SMSGATE_CONFIG or ~/.config/smsgate/cli.conf; user accept and login need no key):
`

// usageText is the usage above followed by one line per resource of the API
// commands, generated from the command table so that it never falls behind.
func usageText() string {
	verbs := map[string][]string{}
	for name := range cliCommands() {
		res, verb, _ := strings.Cut(name, " ")
		verbs[res] = append(verbs[res], verb)
	}
	var b strings.Builder
	b.WriteString(usage)
	for _, res := range slices.Sorted(maps.Keys(verbs)) {
		v := slices.DeleteFunc(verbs[res], func(s string) bool { return s == "" }) // one-word commands (login)
		slices.Sort(v)
		fmt.Fprintf(&b, "  %s\n", strings.TrimSpace(fmt.Sprintf("%-12s %s", res, strings.Join(v, "|"))))
	}
	b.WriteString("Run \"smsgate <command> <verb> -h\" for a command's flags.\n")
	return b.String()
}

func run(args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText())
		return 0
	case "serve":
		return serveCmd(ctx, args[1:], stderr)
	case "config":
		return configCmd(args[1:], stdout, stderr)
	case "admin":
		return adminCmd(ctx, args[1:], stdout, stderr)
	default:
		return runCLI(ctx, args, env, stdout, stderr)
	}
}
