package main

import (
	"debug/elf"
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

// TestDeployContainerRecipe reads the Dockerfile and runs its build step as
// written (the machine has no Docker engine to build the image itself): the
// image is multi-stage, its final stage runs as a non-root user, and the
// binary the build step makes is static (no dynamic loader, no shared
// libraries), so that it runs on the distroless static base.
func TestDeployContainerRecipe(t *testing.T) {
	t.Parallel() // a whole build: let the package's other tests run meanwhile
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	user, build := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "FROM":
			froms = append(froms, line)
			user = "" // USER is per stage
		case "USER":
			user = f[1]
		case "RUN":
			if strings.Contains(line, "go build") {
				build = strings.TrimSpace(strings.TrimPrefix(line, "RUN"))
			}
		}
	}
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, got %d FROM lines", len(froms))
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("the final stage runs as %q, want a non-root numeric user", user)
	}
	if !strings.HasPrefix(build, "CGO_ENABLED=0 go build ") || !strings.Contains(build, "-o /out/smsgate ") {
		t.Fatalf("want the build step as CGO_ENABLED=0 go build ... -o /out/smsgate ..., got %q", build)
	}
	out := filepath.Join(t.TempDir(), "smsgate")
	cmd := exec.Command("sh", "-c", strings.Replace(build, "/out/smsgate", out, 1))
	cmd.Dir = "../.." // the build stage's WORKDIR holds the repository
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, o)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary names a dynamic loader (PT_INTERP): not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	if o, err := exec.Command(out, "config", "check", "../../deploy/smsgate.example.yml").CombinedOutput(); err != nil {
		t.Errorf("the built binary: config check: %v\n%s", err, o)
	}
}
