package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/smsgate/smsgate/accounts"
	"github.com/smsgate/smsgate/accounts/redisstore"
	"github.com/smsgate/smsgate/accounts/store"
	"github.com/smsgate/smsgate/api"
	"github.com/smsgate/smsgate/config"
)

// configCmd is "smsgate config check [--print] FILE".
func configCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: smsgate config check [--print] FILE")
		return 2
	}
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	print := fs.Bool("print", false, "print the effective configuration, secrets hidden")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: smsgate config check [--print] FILE")
		return 2
	}
	cfg, err := config.LoadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *print {
		b, err := cfg.Redacted()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		stdout.Write(b)
		return 0
	}
	fmt.Fprintf(stdout, "%s: ok\n", fs.Arg(0))
	return 0
}

// openStore opens the account store of the configuration at path, for the
// operator commands that talk to Redis directly. Like the daemon it records
// the shard count in Redis, or refuses a count other than the recorded one
// (an operator's first command may come before the daemon's first start).
func openStore(path string) (*redisstore.Store, func(), error) {
	cfg, err := config.LoadFile(path)
	if err != nil {
		return nil, nil, err
	}
	rdb, err := newRedis(cfg.Redis)
	if err != nil {
		return nil, nil, err
	}
	s := redisstore.New(rdb, redisstore.Options{Shards: cfg.Redis.EffectiveShards(), Quotas: cfg.Quotas,
		MinReplicasAck: cfg.Redis.MinReplicasAck, ReplicaAckTimeout: cfg.Redis.ReplicaAckTimeout.Std(),
		IdempotencyTTL: cfg.Retention.Idempotency.Std(), ReceiptIndexTTL: cfg.Retention.ReceiptIndex.Std()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.PinShards(ctx); err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("redis %s: %w", cfg.Redis.Target(), err)
	}
	return s, func() { rdb.Close() }, nil
}

// adminCmd holds the operator commands that talk to Redis directly: they are
// what exists before any API key does.
func adminCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: smsgate admin bootstrap|parent|credit|billing|quotas|sender-id|number|domain|unrouted|operator-key --config FILE ...")
		return 2
	}
	if args[0] == "number" { // "admin number add|remove": cli_senders.go
		return adminNumber(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "domain" { // "admin domain approve": cli_registrations.go
		return adminDomain(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "quotas" { // what each account of a parent may store: admin_billing.go
		return adminQuotas(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "sender-id" { // operator approval of brand names: admin_billing.go
		return adminSenderID(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "ledger" { // "admin ledger compact": admin_billing.go
		return adminLedger(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "billing" { // what the operator sells a customer: admin_billing.go
		return adminBilling(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "unrouted" { // "admin unrouted list|show|assign": cli_unrouted.go
		return adminUnrouted(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "operator-key" { // a key for /v1/operator/..., and its config line
		key := "sgo_" + store.RandomSecret(24)
		fmt.Fprintf(stdout, "operator key (shown once; give it as the bearer token of /v1/operator/...):\n%s\n", key)
		fmt.Fprintf(stdout, "add its hash to the configuration:\nhttp:\n  operator_keys: [\"%s\"]\n", api.OperatorKeyHash(key))
		return 0
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (for redis)")
	name := fs.String("name", "", "bootstrap: name of the parent account")
	country := fs.String("country", "US", "bootstrap: default country of numbers (ISO 3166 alpha-2)")
	currency := fs.String("currency", "USD", "bootstrap: currency of balances (ISO 4217)")
	credit := fs.Int64("credit", 0, "bootstrap: initial balance in minor units")
	price := fs.Int64("price", 0, "bootstrap: price per SMS part in minor units (later: admin billing)")
	acct := fs.String("account", "", "credit: account id")
	ref := fs.String("ref", "", "credit: reference recorded in the ledger")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *cfgPath == "" {
		fmt.Fprintf(stderr, "admin %s: --config is required\n", args[0])
		return 2
	}
	store, closeStore, err := openStore(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer closeStore()
	switch args[0] {
	case "bootstrap", "parent":
		if *name == "" {
			fmt.Fprintf(stderr, "admin %s: --name is required\n", args[0])
			return 2
		}
		create := store.Bootstrap
		if args[0] == "parent" { // a further customer: a root account of its own
			create = store.CreateParent
		}
		a, secret, err := create(ctx, accounts.Account{Name: *name, DefaultCountry: *country, Currency: *currency, PricePerPart: *price})
		if errors.Is(err, accounts.ErrAlreadyBootstrapped) {
			fmt.Fprintln(stderr, "smsgate: already bootstrapped: create each further customer's parent account with 'smsgate admin parent', sub-accounts through the API")
			return 1
		}
		if err != nil {
			fmt.Fprintln(stderr, "smsgate:", err)
			return 1
		}
		if *credit > 0 {
			if _, err := store.Credit(ctx, a.ID, *credit, "bootstrap", "operator"); err != nil {
				fmt.Fprintln(stderr, "smsgate:", err)
				return 1
			}
		}
		fmt.Fprintf(stdout, "account %s (%s) created\nadmin API key (shown once, store it now):\n%s\n", a.ID, a.Name, secret)
		return 0
	case "credit":
		if *acct == "" || fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: smsgate admin credit --config FILE --account ID AMOUNT")
			return 2
		}
		amount, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || amount <= 0 {
			fmt.Fprintf(stderr, "admin credit: amount %q must be a positive integer of minor units\n", fs.Arg(0))
			return 2
		}
		e, err := store.Credit(ctx, *acct, amount, *ref, "operator")
		if err != nil {
			fmt.Fprintln(stderr, "smsgate:", err)
			return 1
		}
		fmt.Fprintf(stdout, "credited %d, balance %d\n", amount, e.Balance)
		return 0
	}
	fmt.Fprintf(stderr, "smsgate admin: unknown command %q\n", args[0])
	return 2
}
