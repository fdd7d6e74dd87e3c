package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// deployDir holds what operators deploy: alert rules, the Grafana
// dashboard, the container recipe and the Kubernetes manifests.
const deployDir = "../../deploy"

// dashboardExprs returns every query of the Grafana dashboard.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana", "smsgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Type    string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana/smsgate.json: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	if len(exprs) < 20 {
		t.Fatalf("dashboard has %d queries", len(exprs))
	}
	return exprs
}

// TestDeployMetricsDefined: every smsgate metric that the alert rules and
// the dashboard query is one the code defines (a renamed metric would
// leave a panel empty and an alert silent for ever).
func TestDeployMetricsDefined(t *testing.T) {
	defined := map[string]bool{}
	nameRe := regexp.MustCompile(`"(smsgate_[a-z0-9_]+)"`)
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range nameRe.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := os.ReadFile(filepath.Join(deployDir, "prometheus-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`\bsmsgate_[a-z0-9_]+`)
	check := func(where, text string) {
		for _, name := range used.FindAllString(text, -1) {
			base := name
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(name, suf); ok && defined[b] {
					base = b
				}
			}
			if !defined[base] {
				t.Errorf("%s queries %s, which no code defines", where, name)
			}
		}
	}
	check("prometheus-alerts.yml", string(alerts))
	for _, e := range dashboardExprs(t) {
		check("grafana/smsgate.json", e)
	}
}

// TestDeployPromtool checks the alert rules (promtool check rules), runs
// their unit tests (promtool test rules) and checks that every dashboard
// query is valid PromQL, by checking it as a recording rule.
func TestDeployPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): install it with `apt-get install prometheus`, "+
			"or run scripts/test.sh, which installs it", err)
	}
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(deployDir, "check", "rules", "prometheus-alerts.yml")
	run(deployDir, "test", "rules", "prometheus-alerts.test.yml")

	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	r := strings.NewReplacer("$__rate_interval", "5m", "$job", ".*")
	for i, e := range dashboardExprs(t) {
		q, _ := json.Marshal(r.Replace(e)) // a JSON string is a YAML string
		rules.WriteString("      - record: dashboard:q" + strconv.Itoa(i) + "\n        expr: " + string(q) + "\n")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.yml"), []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	run(dir, "check", "rules", "dashboard.yml")
}
