package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadGood(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, c *Config)
	}{
		{"testdata/good.minimal.yml", func(t *testing.T, c *Config) {
			want := Default()
			want.SMTP.Domains = []string{"sms.example.com"} // lower-cased, dot trimmed
			link := DefaultLink()
			link.Name, link.Addr, link.SystemID = "carrier1", "127.0.0.1:2775", "smsgate"
			want.Links = []Link{link}
			want.Relay.Hostname = want.SMTP.Hostname
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
		}},
		{"testdata/good.full.yml", func(t *testing.T, c *Config) {
			if c.Log.Level != "debug" || c.Roles.HTTP || c.Redis.Sentinel.Addrs[1] != "[::1]:26379" ||
				c.Redis.Password.Value() != "redis-pass-xyzzy" || c.SMTP.WriteTimeout.Std() != 90*time.Second ||
				c.Dispatch.Block.Std() != 500*time.Millisecond || c.Dispatch.Retry.Jitter != 0.5 ||
				c.Dispatch.RefundOnFailure || c.Relay.Hostname != "relay-helo.example.com" ||
				c.Shutdown.Timeout != Seconds(45) || !c.SMTP.TLS.Enabled() || c.Runtime.GCPercent != 200 {
				t.Errorf("values not decoded: %+v", c)
			}
			l := c.Links[0]
			if l.Rate != 12.5 || l.RegisteredDelivery || l.Window != 50 || l.Password.Value() != "smpp-pw1" ||
				!reflect.DeepEqual(l.Prefixes, []string{"61", "64"}) {
				t.Errorf("links[0] = %+v", l)
			}
			// The second link says little and keeps the link defaults.
			l = c.Links[1]
			if l.Window != 10 || !l.RegisteredDelivery || l.EnquireLink != Seconds(30) || l.ResponseTimeout != Seconds(10) {
				t.Errorf("links[1] defaults not applied: %+v", l)
			}
		}},
		{"testdata/good.http_only.yml", func(t *testing.T, c *Config) {
			if c.Redis.Addr != "unix:/run/redis/redis.sock" || len(c.Links) != 0 || c.Roles.SMTP {
				t.Errorf("got %+v", c)
			}
		}},
		{"../deploy/smsgate.example.yml", func(t *testing.T, c *Config) {
			if len(c.Links) != 2 || c.Links[1].Priority != 10 || c.Links[1].Window != 10 {
				t.Errorf("links = %+v", c.Links)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			c, err := LoadFile(tt.file)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			tt.check(t, c)
		})
	}
}

// TestLoadBad checks that each bad fixture reports exactly its problems.
func TestLoadBad(t *testing.T) {
	tests := map[string][]string{
		"unknown_key": {
			"log.colour: unknown key (line 3)",
			"links[0].windw: unknown key (line 10)",
			"tracing: unknown key (line 11)",
		},
		"three_problems": {
			`smtp.domains[1]: "bad domain" is not a valid domain name`,
			"dispatch.retry.max: must be >= dispatch.retry.initial (1s)",
			"links[0].system_id: required",
		},
		"duplicate_link": {"links[2].name: duplicate of links[0].name"},
		"sentinel":       {"redis.sentinel.addrs: required when redis.sentinel.master is set"},
		"cluster": {
			"redis.cluster.addrs: cannot be combined with redis.sentinel.master: a cluster fails over by itself",
			"redis.db: must be 0 on a Redis Cluster (got 3)",
			`redis.cluster.addrs[1]: "nohost" is not a host:port address`,
		},
		"no_roles": {"roles: at least one role must be on"},
		"empty": {
			"smtp.domains: at least one SMS domain is required when roles.smtp is on",
			"links: at least one link is required when roles.dispatch is on",
		},
		"duration_int": {
			`smtp.read_timeout: duration must be a string with a unit, like "30s"; got !!int "60" (line 3)`,
			`smtp.write_timeout: invalid duration "soon": use a number with a unit, like "30s", "1m30s" or "90d" (line 4)`,
		},
		"type": {
			"dispatch.workers: cannot unmarshal !!str `many` into int (line 3)",
			"dispatch.refund_on_failure: cannot unmarshal !!str `maybe` into bool (line 4)",
		},
		"duplicate_key": {"http: duplicate key (line 4, first set at line 2)"},
		"unknown_and_invalid": {
			"links[0].passwrd: unknown key (line 8)",
			"smtp.max_recipients: must be between 1 and 1000 (got 0)",
		},
		"tls": {
			"smtp.tls_listen: needs smtp.tls.cert_file and smtp.tls.key_file",
			"smtp.domains[1]: duplicate of smtp.domains[0]",
			"smtp.tls: set both cert_file and key_file, or neither",
			"smtp.require_tls: needs smtp.tls.cert_file and smtp.tls.key_file",
		},
		"link_limits": {
			`links[0].name: "Carrier One" may contain only a-z, 0-9, _ and -`,
			`links[0].addr: "smsc.example" is not a host:port address`,
			"links[0].system_id: must be at most 15 characters (SMPP 3.4 §5.2.1)",
			"links[0].password: must be at most 8 characters (SMPP 3.4 §5.2.2)",
			"links[0].system_type: must be at most 12 characters (SMPP 3.4 §5.2.3)",
			`links[0].prefixes[0]: "+61" must be 1 to 15 digits (E.164, no '+')`,
			`links[0].prefixes[2]: duplicate prefix "64"`,
			"links[0].priority: must be 0 or more (got -1)",
			"links[0].window: must be between 1 and 1000 (got 0)",
			"links[0].rate: must be 0 (unlimited) or more (got -2)",
			"links[0].enquire_link: must be greater than 0 (got 0s)",
			`links[0].bind: "duplex" is not one of transceiver, pair`,
			`links[0].country: "au" must be an ISO 3166-1 alpha-2 code in capitals, such as AU`,
			"links[0].reconnect_max: must be 0 (the default, 30s) or at least reconnect_min (10s) (got 5s)",
			"dispatch.claim_idle: must be greater than links[0].outcome_wait (4m30s), or in-flight submits are claimed twice",
		},
		"relay": {
			`log.level: "verbose" is not one of debug, info, warn, error`,
			`log.format: "xml" is not one of json, text`,
			`relay.addr: "smtp.example.com" is not a host:port address`,
			"relay.from: required when relay.addr is set",
			`relay.hostname: "bad_name" is not a valid host name`,
			"shutdown.timeout: must be greater than 0 (got 0s)",
			"runtime.gc_percent: must be between 25 and 10000 (got 5)",
		},
		"pool": {
			`dispatch.source_pool[1]: "+61480000002" must be a number in international form without '+', 8 to 15 digits (replies come back to it)`,
			"dispatch.source_pool[2]: duplicate of dispatch.source_pool[0]",
			`dispatch.source_pool[3]: "ACME" must be a number in international form without '+', 8 to 15 digits (replies come back to it)`,
			"dispatch.source_pool_ttl: must not be negative (0: the default, 720h)",
		},
		"quotas": {
			`dispatch.allowed_sender_ids[1]: "Pay Pal" must be 1 to 11 letters and digits with at least one letter (SMPP 3.4 alphanumeric source_addr)`,
			`dispatch.allowed_sender_ids[2]: "ABCDEFGHIJKL" must be 1 to 11 letters and digits with at least one letter (SMPP 3.4 alphanumeric source_addr)`,
			`dispatch.allowed_sender_ids[3]: "1234" must be 1 to 11 letters and digits with at least one letter (SMPP 3.4 alphanumeric source_addr)`,
			"quotas.contacts: -1 must be between 1 and 100000000 (0 or absent: the default)",
			"quotas.inbox: 200000000 must be between 1 and 100000000 (0 or absent: the default)",
		},
		"dns": {
			`dns.servers[1]: "9.9.9.9" is not a host:port address`,
			`dns.servers[2]: "[::1]:0" needs a port other than 0`,
			"http.operator_keys[0]: must be sha256:<64 hex digits>, the hash `smsgate admin operator-key` prints (never the key itself)",
			`webhooks.allow_internal: allow[0]: "10.0.0.0/33" is not a CIDR network`,
			"dns.timeout: must be greater than 0 (got 0s)",
			"dns.negative_cache_ttl: must be greater than 0 (got -1s)",
		},
		"general": {
			`redis.addr: "unix:relative.sock": a unix socket needs an absolute path, like unix:/run/redis/redis.sock`,
			`redis.sentinel.addrs[0]: "nohost" is not a host:port address`,
			"redis.db: must be 0 or more (got -1)",
			"redis.shards: must be between 1 and 1024 (got 2000)",
			"redis.pool_size: must be 0 (the default) or more (got -5)",
			"http.listen: required when roles.http is on",
			`dispatch.consumer: "two words" must not contain white space`,
			"dispatch.workers: must be between 1 and 10000 (got 0)",
			"dispatch.batch: must be between 1 and 10000 (got 20000)",
			"dispatch.block: must be greater than 0 (got -1s)",
			"dispatch.batch_wait: 2s must be between 0s and 1s (every message may wait that long)",
			"dispatch.retry.initial: must be greater than 0 (got 0s)",
			"dispatch.retry.max_attempts: must be at least 1 (got 0)",
			"dispatch.retry.jitter: must be between 0 and 1 (got 1.5)",
			`dispatch.default_source: "Too-Long-Sender" must be up to 11 letters and digits, or up to 15 digits`,
		},
	}

	// Every fixture has a case, so none is silently skipped.
	files, err := filepath.Glob("testdata/bad.*.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "bad."), ".yml")
		if _, ok := tests[name]; !ok {
			t.Errorf("fixture %s has no case in TestLoadBad", f)
		}
	}

	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := "testdata/bad." + name + ".yml"
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(data)
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error = %v (%T), want *Errors", err, err)
			}
			got := make([]string, len(*errs))
			for i, fe := range *errs {
				got[i] = fe.Error()
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if err.Error() != strings.Join(want, "\n") {
				t.Errorf("Error() = %q, want one problem per line", err.Error())
			}

			// LoadFile names the file and keeps the *Errors reachable.
			_, ferr := LoadFile(path)
			if !strings.HasPrefix(ferr.Error(), "config "+path+": ") || !errors.As(ferr, &errs) {
				t.Errorf("LoadFile error = %v", ferr)
			}
		})
	}
}

// TestEveryErrorListed: a config with three problems reports three.
func TestEveryErrorListed(t *testing.T) {
	_, err := LoadFile("testdata/bad.three_problems.yml")
	var errs *Errors
	if !errors.As(err, &errs) || len(*errs) != 3 {
		t.Fatalf("got %v, want 3 problems", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"syntax", "log:\n  level: [info\n", "parse yaml: yaml: line 1: did not find expected"},
		{"two documents", "log: {level: info}\n---\nlog: {level: warn}\n", "line 2: only one YAML document is allowed"},
		{"not a mapping", "hello\n", "cannot unmarshal !!str `hello` into config.Config (line 1)"},
		{"link not a mapping", "links: [carrier1]\n", "links[0]: cannot unmarshal !!str `carrier1` into config.Link (line 1)"},
		{"duration as list", "shutdown: {timeout: [1]}\n", "shutdown.timeout: duration must be a string with a unit"},
		{"merge key unknown", "x: &a {level: info, bogus: 1}\nlog: {<<: *a}\n", "x: unknown key (line 1)"},
		{"inline link unknown key", "links: [{name: a, nope: 1}]\n", "links[0].nope: unknown key (line 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want it to contain %q", err, tt.want)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		_, err := LoadFile(filepath.Join(t.TempDir(), "nope.yml"))
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.yml") {
			t.Errorf("LoadFile error = %v, want a wrapped ErrNotExist naming the file", err)
		}
	})
}

func TestValidateInCode(t *testing.T) {
	c := Default()
	c.Roles = Roles{HTTP: true}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults with only http on: %v", err)
	}
	c.Roles.Dispatch = true
	c.Links = []Link{DefaultLink()}
	err := c.Validate()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Validate = %v, want *Errors", err)
	}
	want := Errors{{"links[0].name", "required"}, {"links[0].addr", "required"}, {"links[0].system_id", "required"}}
	if !reflect.DeepEqual(*errs, want) {
		t.Errorf("Validate = %q, want %q", *errs, want)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       time.Duration
		wantErr    string
	}{
		{"seconds", `"30s"`, 30 * time.Second, ""},
		{"compound", "1m30s", 90 * time.Second, ""},
		{"millis", "250ms", 250 * time.Millisecond, ""},
		{"integer", "30", 0, `got !!int "30"`},
		{"float", "1.5", 0, `got !!float "1.5"`},
		{"no unit string", `"30"`, 0, `invalid duration "30"`},
		{"garbage", "soon", 0, `invalid duration "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "roles: {smtp: false, dispatch: false}\nshutdown: {timeout: " + tt.yaml + "}\n"
			c, err := Load([]byte(doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "shutdown.timeout") {
					t.Fatalf("Load error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Shutdown.Timeout.Std() != tt.want {
				t.Errorf("got %v, want %v", c.Shutdown.Timeout, tt.want)
			}
		})
	}
}

// TestHideConfigSecrets: no output path of a Config shows a secret.
func TestHideConfigSecrets(t *testing.T) {
	c, err := LoadFile("testdata/good.full.yml")
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"redis-pass-xyzzy", "smpp-pw1", "smpp-pw2", "relay-pass-plugh"}

	redacted, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	jsonOut, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("cfg", "config", c, "pw", c.Redis.Password)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("cfg", "config", c, "pw", c.Links[0].Password)

	outputs := map[string]string{
		"Redacted":    string(redacted),
		"json":        strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(string(jsonOut)),
		"slog json":   jsonLog.String(),
		"slog text":   textLog.String(),
		"%v":          fmt.Sprintf("%v", c),
		"%+v":         fmt.Sprintf("%+v", *c),
		"%#v":         fmt.Sprintf("%#v", *c),
		"%s secret":   fmt.Sprintf("password=%s", c.Relay.Password),
		"String":      c.Links[1].Password.String(),
		"errors text": fmt.Sprint(c.Links),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("output shows secret %q:\n%s", s, out)
				}
			}
			if !strings.Contains(out, "<secret>") {
				t.Errorf("output has no <secret> placeholder:\n%s", out)
			}
		})
	}
	if c.Links[0].Password.Value() != "smpp-pw1" {
		t.Errorf("Value() = %q", c.Links[0].Password.Value())
	}
	if got := Secret("").String(); got != "" {
		t.Errorf("empty secret prints %q, want empty", got)
	}
}

// TestRedactedLoads: the redacted output is itself a valid config equal to
// the original except for the secrets.
func TestRedactedLoads(t *testing.T) {
	for _, f := range []string{"testdata/good.full.yml", "testdata/good.minimal.yml", "../deploy/smsgate.example.yml"} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Load(out)
			if err != nil {
				t.Fatalf("reload: %v\n%s", err, out)
			}
			again, err := back.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, out) {
				t.Errorf("reloaded config differs:\n%s\nwant:\n%s", again, out)
			}
		})
	}
}

// TestSecretReferences: a secret written env:NAME or file:/path is read
// from there at load; one that cannot be read is an error naming its path
// and what was wrong; the resolved secret still never prints.
func TestSecretReferences(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "smpp-password")
	if err := os.WriteFile(pwFile, []byte("smppfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SMSGATE_TEST_REDIS_PW", "redis-from-env")
	doc := `
redis:
  password: env:SMSGATE_TEST_REDIS_PW
smtp:
  domains: [sms.example.com]
links:
  - name: c1
    addr: 127.0.0.1:2775
    system_id: x
    password: file:` + pwFile + `
  - name: c2
    addr: 127.0.0.1:2776
    system_id: y
    password: plainval
`
	c, err := Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Password.Value() != "redis-from-env" || c.Links[0].Password.Value() != "smppfile" ||
		c.Links[1].Password.Value() != "plainval" {
		t.Errorf("resolved %q %q %q", c.Redis.Password.Value(), c.Links[0].Password.Value(), c.Links[1].Password.Value())
	}
	if out, _ := c.Redacted(); strings.Contains(string(out), "from-env") || strings.Contains(string(out), "smppfile") {
		t.Errorf("a resolved secret printed:\n%s", out)
	}

	bad := strings.NewReplacer("env:SMSGATE_TEST_REDIS_PW", "env:SMSGATE_TEST_UNSET_VAR",
		"file:"+pwFile, "file:"+filepath.Join(dir, "missing"), "plainval", "file:relative").Replace(doc)
	_, err = Load([]byte(bad))
	for _, want := range []string{
		"redis.password: environment variable SMSGATE_TEST_UNSET_VAR is not set",
		"links[0].password: read the secret: open " + filepath.Join(dir, "missing"),
		`links[1].password: file: needs an absolute path, like file:/run/secrets/redis-password (got "relative")`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nwant it to contain %q", err, want)
		}
	}
}

func TestParseRoles(t *testing.T) {
	r, err := ParseRoles("smtp, http")
	if err != nil || !r.SMTP || !r.HTTP || r.Dispatch {
		t.Errorf("smtp, http = %+v, %v", r, err)
	}
	if r, err := ParseRoles("dispatch"); err != nil || r.SMTP || r.HTTP || !r.Dispatch {
		t.Errorf("dispatch = %+v, %v", r, err)
	}
	if _, err := ParseRoles("smtp,sms"); err == nil || err.Error() != `unknown role "sms": the roles are smtp, dispatch and http` {
		t.Errorf("smtp,sms: %v", err)
	}
}

// TestRetention: periods in days or any duration unit; 0 keeps for ever;
// a negative period is refused with its path.
func TestRetention(t *testing.T) {
	c, err := Load([]byte("roles: {smtp: false, dispatch: false, http: true}\nretention:\n  messages: 30d\n  inbox: 720h\n  blocked: \"0s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Retention.Messages.Std() != 30*24*time.Hour || c.Retention.Inbox.Std() != 720*time.Hour ||
		c.Retention.Blocked != 0 || c.Retention.Every.Std() != 10*time.Minute {
		t.Errorf("retention %+v", c.Retention)
	}
	_, err = Load([]byte("roles: {smtp: false, dispatch: false, http: true}\nretention:\n  messages: -1h\n"))
	if err == nil || !strings.Contains(err.Error(), "retention.messages: must be 0 (keep for ever) or more (got -1h0m0s)") {
		t.Errorf("negative retention: %v", err)
	}
	_, err = Load([]byte("roles: {smtp: false, dispatch: false, http: true}\nretention:\n  inbox: 9x\n"))
	if err == nil || !strings.Contains(err.Error(), `retention.inbox: invalid duration "9x": use a number with a unit, like "30s", "1m30s" or "90d"`) {
		t.Errorf("bad retention: %v", err)
	}
	if c.Retention.Statistics.Std() != 400*24*time.Hour || c.Retention.WebhookLog.Std() != 30*24*time.Hour {
		t.Errorf("statistics and webhook log defaults: %s, %s", c.Retention.Statistics, c.Retention.WebhookLog)
	}
	for yaml, want := range map[string]string{
		"statistics: 401d":                    "retention.statistics: 9624h0m0s is longer than 400d",
		"statistics: 3d":                      "retention.statistics: 72h0m0s is shorter than retention.receipt_index (168h0m0s)",
		"statistics: 0s":                      "retention.statistics: 0s is shorter than retention.receipt_index",
		"webhook_log: -24h":                   "retention.webhook_log: must be 0 (keep for ever) or more",
		"statistics: 2d\n  receipt_index: 1d": "",
	} {
		_, err := Load([]byte("roles: {smtp: false, dispatch: false, http: true}\nretention:\n  " + yaml + "\n"))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("retention %q: %v, want %q", yaml, err, want)
		}
	}
}
