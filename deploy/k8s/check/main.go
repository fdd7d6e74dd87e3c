// Command check validates smsgate's Kubernetes manifests (deploy/k8s)
// without a cluster: the kustomization's resources are decoded strictly
// into the Kubernetes API types (an unknown or misspelt field, or a value of
// the wrong type, is an error, as the API server's schema would make it),
// and checked against what smsgate needs: probes on /healthz and /readyz, a
// non-root user and a read-only root file system, a disruption budget and a
// Service for each role, and a ConfigMap whose smsgate.yml loads with
// smsgate's own configuration loader for each Deployment's roles, its
// secret references pointing into the mounted Secret.
//
//	go run ./deploy/k8s/check deploy/k8s   (scripts/test.sh runs it)
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/smsgate/smsgate/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: check DIR (the directory of kustomization.yaml)")
		os.Exit(2)
	}
	problems, err := check(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s check:", err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Println("k8s check: ok")
}

type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	secrets     []*corev1.Secret
	pdbs        []*policyv1.PodDisruptionBudget
}

// check reads the resources the kustomization in dir lists and returns
// every problem found, each naming its file and object.
func check(dir string) ([]string, error) {
	var k struct {
		Resources []string `json:"resources"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("kustomization.yaml: %w", err)
	}
	var m manifests
	var problems []string
	for _, f := range k.Resources {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		for i, doc := range splitDocs(b) {
			if err := m.decode(doc); err != nil {
				problems = append(problems, fmt.Sprintf("%s (document %d): %v", f, i+1, err))
			}
		}
	}
	problems = append(problems, m.rules(dir)...)
	return problems, nil
}

// splitDocs splits a multi-document YAML file.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(b, []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(append(out, line...), '\n')
		}
	}
	return out
}

// decode decodes one object strictly into its API type.
func (m *manifests) decode(doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	strict := func(v any) error {
		if err := yaml.UnmarshalStrict(doc, v); err != nil {
			return fmt.Errorf("%s %s: %w", head.APIVersion, head.Kind, err)
		}
		return nil
	}
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 Deployment":
		var d appsv1.Deployment
		if err := strict(&d); err != nil {
			return err
		}
		m.deployments = append(m.deployments, &d)
	case "v1 Service":
		var s corev1.Service
		if err := strict(&s); err != nil {
			return err
		}
		m.services = append(m.services, &s)
	case "v1 ConfigMap":
		var c corev1.ConfigMap
		if err := strict(&c); err != nil {
			return err
		}
		m.configMaps = append(m.configMaps, &c)
	case "v1 Secret":
		var s corev1.Secret
		if err := strict(&s); err != nil {
			return err
		}
		m.secrets = append(m.secrets, &s)
	case "policy/v1 PodDisruptionBudget":
		var p policyv1.PodDisruptionBudget
		if err := strict(&p); err != nil {
			return err
		}
		m.pdbs = append(m.pdbs, &p)
	default:
		return fmt.Errorf("%s %s: not a kind this check knows", head.APIVersion, head.Kind)
	}
	return nil
}

// rules checks what smsgate needs of the objects.
func (m *manifests) rules(dir string) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	if len(m.configMaps) != 1 || len(m.secrets) != 1 {
		bad("want one ConfigMap and one Secret, got %d and %d", len(m.configMaps), len(m.secrets))
		return out
	}
	cm, sec := m.configMaps[0], m.secrets[0]
	cfgText, ok := cm.Data["smsgate.yml"]
	if !ok {
		bad("ConfigMap %s: no smsgate.yml", cm.Name)
	}
	if len(m.deployments) < 2 {
		bad("want a Deployment per role (front: smtp,http; dispatch), got %d", len(m.deployments))
	}
	roles := map[string]bool{}
	for _, d := range m.deployments {
		where := "Deployment " + d.Name
		pod := d.Spec.Template
		sel, err := metav1LabelSelector(d)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			bad("%s: its selector does not match its pod labels (%v)", where, err)
		}
		if len(pod.Spec.Containers) != 1 {
			bad("%s: want one container, got %d", where, len(pod.Spec.Containers))
			continue
		}
		c := pod.Spec.Containers[0]
		psc := pod.Spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			bad("%s: the pod must run as a non-root user (runAsNonRoot, runAsUser)", where)
		}
		csc := c.SecurityContext
		if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			bad("%s: readOnlyRootFilesystem must be true", where)
		}
		if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			bad("%s: allowPrivilegeEscalation must be false", where)
		}
		probe := func(name string, p *corev1.Probe, path string) {
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
				bad("%s: %s must be an HTTP GET of %s", where, name, path)
				return
			}
			if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
				return cp.Name == p.HTTPGet.Port.String() || cp.ContainerPort == p.HTTPGet.Port.IntVal
			}) {
				bad("%s: %s probes port %s, which the container does not declare", where, name, p.HTTPGet.Port.String())
			}
		}
		probe("readinessProbe", c.ReadinessProbe, "/readyz")
		probe("livenessProbe", c.LivenessProbe, "/healthz")
		if c.Resources.Limits.Memory().IsZero() {
			bad("%s: set a memory limit", where)
		}

		// The configuration loads for this Deployment's roles, with its
		// secrets read from the Secret as mounted.
		i := slices.Index(c.Args, "--roles")
		if i < 0 || i+1 >= len(c.Args) {
			bad("%s: args must name its roles (--roles)", where)
			continue
		}
		r, err := config.ParseRoles(c.Args[i+1])
		if err != nil {
			bad("%s: %v", where, err)
			continue
		}
		if !r.HTTP {
			bad("%s: its probes need the http role", where)
		}
		roles["smtp"] = roles["smtp"] || r.SMTP
		roles["dispatch"] = roles["dispatch"] || r.Dispatch
		mountCfg, mountSec := mountOf(c, pod.Spec.Volumes, cm.Name, sec.Name)
		if mountCfg == "" || mountSec == "" {
			bad("%s: mount the ConfigMap %s and the Secret %s", where, cm.Name, sec.Name)
			continue
		}
		if ci := slices.Index(c.Args, "--config"); ci < 0 || ci+1 >= len(c.Args) || c.Args[ci+1] != mountCfg+"/smsgate.yml" {
			bad("%s: --config must be %s/smsgate.yml, where the ConfigMap is mounted", where, mountCfg)
		}
		if err := loadConfig(cfgText, r, mountSec, sec); err != nil {
			bad("%s: ConfigMap %s smsgate.yml for roles %s: %v", where, cm.Name, c.Args[i+1], err)
		}
		if !slices.ContainsFunc(m.pdbs, func(p *policyv1.PodDisruptionBudget) bool {
			s, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			return err == nil && s.Matches(labels.Set(pod.Labels))
		}) {
			bad("%s: no PodDisruptionBudget selects its pods", where)
		}
	}
	if !roles["smtp"] || !roles["dispatch"] {
		bad("the Deployments must run the smtp and the dispatch roles between them")
	}
	for _, s := range m.services {
		sel := labels.SelectorFromSet(s.Spec.Selector)
		if !slices.ContainsFunc(m.deployments, func(d *appsv1.Deployment) bool {
			return sel.Matches(labels.Set(d.Spec.Template.Labels))
		}) {
			bad("Service %s selects no Deployment's pods", s.Name)
		}
	}
	return out
}

func metav1LabelSelector(d *appsv1.Deployment) (labels.Selector, error) {
	if d.Spec.Selector == nil {
		return nil, errors.New("no selector")
	}
	return metav1.LabelSelectorAsSelector(d.Spec.Selector)
}

// mountOf returns where container c mounts the ConfigMap cm and the Secret
// sec ("" when it does not).
func mountOf(c corev1.Container, vols []corev1.Volume, cm, sec string) (cfgDir, secDir string) {
	for _, vm := range c.VolumeMounts {
		for _, v := range vols {
			if v.Name != vm.Name {
				continue
			}
			if v.ConfigMap != nil && v.ConfigMap.Name == cm {
				cfgDir = vm.MountPath
			}
			if v.Secret != nil && v.Secret.SecretName == sec {
				secDir = vm.MountPath
			}
		}
	}
	return cfgDir, secDir
}

// loadConfig loads text with smsgate's loader for roles r, the Secret's
// keys written to a temporary directory standing for its mount at secDir.
func loadConfig(text string, r config.Roles, secDir string, sec *corev1.Secret) error {
	tmp, err := os.MkdirTemp("", "k8s-check")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	write := func(k string, v []byte) error { return os.WriteFile(filepath.Join(tmp, k), v, 0o600) }
	for k, v := range sec.StringData {
		if err := write(k, []byte(v)); err != nil {
			return err
		}
	}
	for k, v := range sec.Data {
		if err := write(k, v); err != nil {
			return err
		}
	}
	text = strings.ReplaceAll(text, "file:"+strings.TrimSuffix(secDir, "/")+"/", "file:"+tmp+"/")
	c, err := config.Load([]byte(text))
	if err != nil {
		return err
	}
	c.Roles = r
	return c.Validate()
}
