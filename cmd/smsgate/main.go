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
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)) }

const usage = `usage: smsgate <command> [arguments]

daemon and operator commands:
  serve --config FILE                      run the gateway
  config check [--print] FILE              validate a configuration file, listing every error
  admin bootstrap --config FILE --name N [--country CC] [--credit AMOUNT]
                                           create the first parent account; prints its admin API key once
  admin credit --config FILE --account ID AMOUNT [--ref R]
                                           operator top-up of a parent account, in minor units

admin commands over the API (SMSGATE_URL, SMSGATE_API_KEY, else "url =" and "key =" lines
in SMSGATE_CONFIG or ~/.config/smsgate/cli.conf):
  account create|list|get|activate|deactivate
  domain add|remove|list        address add|remove|list
  balance get|credit|debit|ledger
  key create|list|revoke
  message get|list              inbox list
  user list|invite|invitations|revoke-invite|set-role|owner|remove
  user accept TOKEN             login --email E   (no API key needed)
Run "smsgate <command> -h" for a command's flags.
`

func run(args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
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
