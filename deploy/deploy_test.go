package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/edgeswarm/edgeswarm/node"
)

// obj is a decoded Kubernetes object.
type obj map[string]any

func (o obj) get(path ...any) any {
	var cur any = map[string]any(o)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m := asMap(cur)
			if m == nil {
				return nil
			}
			cur = m[k]
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			cur = l[k]
		}
	}
	return cur
}

// asMap returns v as a map: the decoder makes nested maps obj too.
func asMap(v any) obj {
	switch m := v.(type) {
	case obj:
		return m
	case map[string]any:
		return obj(m)
	}
	return nil
}

func (o obj) str(path ...any) string { s, _ := o.get(path...).(string); return s }
func (o obj) list(path ...any) []any { l, _ := o.get(path...).([]any); return l }
func (o obj) m(path ...any) obj      { return asMap(o.get(path...)) }
func (o obj) id() string             { return o.str("kind") + "/" + o.str("metadata", "name") }

// manifests decodes every document of the kustomization's resources,
// checking that it lists every manifest of the directory.
func manifests(t *testing.T) map[string]obj {
	t.Helper()
	dir := "kubernetes"
	var k obj
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.str("kind") != "Kustomization" || k.str("namespace") != "edgeswarm" {
		t.Errorf("kustomization: kind %q namespace %q", k.str("kind"), k.str("namespace"))
	}
	var listed []string
	for _, r := range k.list("resources") {
		listed = append(listed, r.(string))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(listed, b) {
			t.Errorf("%s is not in the kustomization's resources", b)
		}
	}
	out := map[string]obj{}
	for _, r := range listed {
		data, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			t.Fatalf("kustomization resource: %v", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o obj
			if err := dec.Decode(&o); err != nil {
				if err.Error() == "EOF" {
					break
				}
				t.Fatalf("%s: %v", r, err)
			}
			if o == nil {
				continue
			}
			if o.str("apiVersion") == "" || o.str("kind") == "" || o.str("metadata", "name") == "" {
				t.Fatalf("%s: an object without apiVersion, kind or name: %v", r, o)
			}
			if o.str("kind") != "Namespace" && o.str("metadata", "namespace") != "edgeswarm" {
				t.Errorf("%s: %s is not in namespace edgeswarm", r, o.id())
			}
			if _, dup := out[o.id()]; dup {
				t.Errorf("%s: %s twice", r, o.id())
			}
			out[o.id()] = o
		}
	}
	return out
}

func must(t *testing.T, objs map[string]obj, id string) obj {
	t.Helper()
	o, ok := objs[id]
	if !ok {
		t.Fatalf("no %s in the manifests", id)
	}
	return o
}

func labelsMatch(sel, labels obj) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// expand substitutes Kubernetes' $(VAR) references from env.
func expand(v string, env map[string]string) string {
	return regexp.MustCompile(`\$\(([A-Z_]+)\)`).ReplaceAllStringFunc(v, func(s string) string {
		return env[s[2:len(s)-1]]
	})
}

func TestKubernetesManifests(t *testing.T) {
	objs := manifests(t)
	ds := must(t, objs, "DaemonSet/edgeswarm")
	secret := must(t, objs, "Secret/edgeswarm")
	cm := must(t, objs, "ConfigMap/edgeswarm")
	svc := must(t, objs, "Service/edgeswarm")
	nats := must(t, objs, "StatefulSet/nats")
	natsSvc := must(t, objs, "Service/nats")
	must(t, objs, "Namespace/edgeswarm")

	pod := ds.m("spec", "template")
	podLabels := pod.m("metadata", "labels")
	if !labelsMatch(ds.m("spec", "selector", "matchLabels"), podLabels) {
		t.Error("DaemonSet selector does not match its pods")
	}
	if pod.get("spec", "hostNetwork") != true {
		t.Error("DaemonSet: hostNetwork must be true (ICE and HTTP/3 at the host's address)")
	}
	if pod.get("spec", "securityContext", "runAsNonRoot") != true {
		t.Error("pods must run as non-root")
	}
	c := asMap(pod.list("spec", "containers")[0])
	if c.get("securityContext", "allowPrivilegeEscalation") != false || c.get("securityContext", "readOnlyRootFilesystem") != true {
		t.Error("container: no privilege escalation, read-only root")
	}
	if c.str("readinessProbe", "httpGet", "path") != "/readyz" || c.get("readinessProbe", "httpGet", "port") != 9090 {
		t.Errorf("readiness probe %v, want /readyz on the admin port", c.get("readinessProbe"))
	}
	if c.str("livenessProbe", "httpGet", "path") != "/healthz" {
		t.Errorf("liveness probe %v, want /healthz", c.get("livenessProbe"))
	}
	ports := map[string]int{}
	for _, p := range c.list("ports") {
		po := asMap(p)
		ports[po.str("protocol")+"/"+fmt.Sprint(po.get("containerPort"))]++
	}
	for _, want := range []string{"TCP/8080", "TCP/8443", "UDP/8443", "UDP/3478", "TCP/9090"} {
		if ports[want] != 1 {
			t.Errorf("container port %s missing", want)
		}
	}

	// The Service: HTTP on 80, HTTPS and HTTP/3 on 443, ICE on UDP 3478, to the
	// container's ports.
	if !labelsMatch(svc.m("spec", "selector"), podLabels) {
		t.Error("Service edgeswarm selects no edgeswarm pod")
	}
	sp := map[string]string{}
	for _, p := range svc.list("spec", "ports") {
		po := asMap(p)
		sp[po.str("protocol")+"/"+fmt.Sprint(po.get("port"))] = po.str("protocol") + "/" + fmt.Sprint(po.get("targetPort"))
	}
	for port, target := range map[string]string{"TCP/80": "TCP/8080", "TCP/443": "TCP/8443", "UDP/443": "UDP/8443", "UDP/3478": "UDP/3478"} {
		if sp[port] != target || ports[target] != 1 {
			t.Errorf("Service port %s -> %q, want -> %s (a container port)", port, sp[port], target)
		}
	}

	// Environment: secrets from the Secret's keys; the whole
	// configuration (file and environment) is one the node accepts.
	env := map[string]string{"HOST_NAME": "edge-1", "HOST_IP": "10.0.0.1"}
	for _, e := range c.list("env") {
		eo := asMap(e)
		name := eo.str("name")
		switch {
		case eo.str("valueFrom", "secretKeyRef", "name") != "":
			key := eo.str("valueFrom", "secretKeyRef", "key")
			if eo.str("valueFrom", "secretKeyRef", "name") != "edgeswarm" || secret.str("stringData", key) == "" {
				t.Errorf("env %s: secret key %q is not in Secret/edgeswarm", name, key)
			}
			env[name] = secret.str("stringData", key)
		case eo.get("valueFrom") != nil:
		default:
			env[name] = expand(eo.str("value"), env)
		}
	}
	for _, want := range []string{"EDGESWARM_TICKET_SECRET", "EDGESWARM_NATS_TOKEN", "EDGESWARM_SIGNAL_URL", "EDGESWARM_ADMIN"} {
		if env[want] == "" {
			t.Errorf("the DaemonSet does not set %s", want)
		}
	}
	var mounted bool
	for _, v := range c.list("volumeMounts") {
		vo := asMap(v)
		mounted = mounted || (vo.str("mountPath") == "/etc/edgeswarm/edgeswarm.yaml" && vo.str("subPath") == "edgeswarm.yaml")
	}
	if !mounted || !slices.Contains(toStrings(c.list("args")), "/etc/edgeswarm/edgeswarm.yaml") {
		t.Error("the ConfigMap's edgeswarm.yaml is not mounted where --config reads it")
	}
	file := filepath.Join(t.TempDir(), "edgeswarm.yaml")
	if err := os.WriteFile(file, []byte(cm.str("data", "edgeswarm.yaml")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := node.ParseConfig([]string{"--config", file}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("the node refuses the manifests' configuration: %v", err)
	}
	if cfg.Cluster.SignalURL != "wss://edge-1.edge.example.com:8443/swarm" || cfg.Admin != "10.0.0.1:9090" || cfg.Signal.TicketSecret == "" || cfg.Cluster.NATS.Token == "" {
		t.Errorf("per-pod settings did not reach the node: %+v", cfg.Cluster)
	}

	// NATS: three servers behind a headless service, each one listed in
	// the nodes' bus URL, with the token the nodes present.
	replicas, _ := nats.get("spec", "replicas").(int)
	if replicas != 3 || nats.str("spec", "serviceName") != "nats" || natsSvc.str("spec", "clusterIP") != "None" {
		t.Errorf("NATS: %d replicas behind service %q (clusterIP %q); want 3 behind the headless nats", replicas, nats.str("spec", "serviceName"), natsSvc.str("spec", "clusterIP"))
	}
	for i := range replicas {
		if u := fmt.Sprintf("nats://nats-%d.nats:4222", i); !strings.Contains(cfg.Cluster.NATS.URL, u) {
			t.Errorf("cluster.nats.url does not list %s", u)
		}
	}
	conf := must(t, objs, "ConfigMap/nats").str("data", "nats.conf")
	for _, want := range []string{"port: 4222", "port: 6222", "token: $NATS_TOKEN", "nats-2.nats:6222"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nats.conf lacks %q", want)
		}
	}

	// Disruption budgets for both.
	for id, sel := range map[string]obj{"PodDisruptionBudget/edgeswarm": podLabels, "PodDisruptionBudget/nats": nats.m("spec", "template", "metadata", "labels")} {
		if !labelsMatch(must(t, objs, id).m("spec", "selector", "matchLabels"), sel) {
			t.Errorf("%s selects no pod", id)
		}
	}
}

func toStrings(l []any) []string {
	var out []string
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// buildStatic builds the binary as the Dockerfile does.
func buildStatic(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "edgeswarm")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestSystemdUnitVerifies(t *testing.T) {
	unit, err := os.ReadFile("systemd/edgeswarm.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "NoNewPrivileges=yes", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "LimitNOFILE=", "MemoryMax=", "ExecStart=/usr/local/bin/edgeswarm --config /etc/edgeswarm/edgeswarm.yaml"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("the unit lacks %s", want)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatalf("systemd-analyze is needed (apt-get install systemd): %v", err)
	}
	// verify checks that ExecStart's binary exists: point it at a build.
	bin := buildStatic(t)
	dir := t.TempDir()
	local := bytes.ReplaceAll(unit, []byte("/usr/local/bin/edgeswarm"), []byte(bin))
	path := filepath.Join(dir, "edgeswarm.service")
	if err := os.WriteFile(path, local, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(l, "edgeswarm.service") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}

func TestContainerImageRunsAStaticBinaryInAnEmptyRoot(t *testing.T) {
	df, err := os.ReadFile("container/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var user string
	for _, l := range strings.Split(string(df), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && f[0] == "FROM" {
			froms = append(froms, f[1])
		}
		if len(f) > 1 && f[0] == "USER" {
			user = f[1]
		}
	}
	if len(froms) < 2 || froms[len(froms)-1] != "scratch" {
		t.Errorf("stages %v: want a build stage, then FROM scratch", froms)
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("USER %q: the image must not run as root", user)
	}
	for _, want := range []string{"CGO_ENABLED=0", "/etc/ssl/certs/ca-certificates.crt", `HEALTHCHECK`, `"health"`} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("the Dockerfile lacks %s", want)
		}
	}

	bin := buildStatic(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("the binary is dynamically linked (program header %v)", p.Type)
		}
	}
	libs, _ := f.ImportedLibraries()
	f.Close()
	if len(libs) > 0 {
		t.Fatalf("the binary needs %v", libs)
	}

	// The image's file system: the binary, CA certificates, /tmp. Nothing
	// else, as FROM scratch. It must start there as user 65532 and
	// answer its health check.
	if os.Geteuid() != 0 {
		t.Fatal("starting the binary in an empty root needs chroot: run as root (scripts/test does)")
	}
	root := t.TempDir()
	for _, d := range []string{"etc/ssl/certs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	_ = os.Chmod(root, 0o755)
	copyFile(t, bin, filepath.Join(root, "edgeswarm"), 0o755)
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		copyFile(t, "/etc/ssl/certs/ca-certificates.crt", filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"), 0o644)
	}
	attr := &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: 65532, Gid: 65532}, Setpgid: true}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/edgeswarm", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--ice-udp", "127.0.0.1:0")
	cmd.Path = "/edgeswarm"
	cmd.Dir = "/"
	cmd.Env = []string{"EDGESWARM_LOG_FORMAT=json"}
	cmd.SysProcAttr = attr
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start in the empty root: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	admin := ""
	sc := bufio.NewScanner(stderr)
	var log []string
	for admin == "" && sc.Scan() {
		log = append(log, sc.Text())
		var l struct {
			Msg   string `json:"msg"`
			Admin string `json:"admin"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "node serving" {
			admin = l.Admin
		}
	}
	if admin == "" {
		t.Fatalf("the node did not start in the empty root:\n%s", strings.Join(log, "\n"))
	}
	go func() {
		for sc.Scan() {
		}
	}()
	health := exec.CommandContext(ctx, "/edgeswarm", "health", "--admin", admin)
	health.Path = "/edgeswarm"
	health.Dir = "/"
	health.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	if out, err := health.CombinedOutput(); err != nil {
		t.Fatalf("the image's health check failed: %v %s", err, out)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the node did not stop cleanly on SIGTERM: %v", err)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

func TestGrafanaDashboardQueriesTheNodesMetrics(t *testing.T) {
	data, err := os.ReadFile("grafana/edgeswarm.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if len(d.Panels) == 0 {
		t.Fatal("no panels")
	}
	// A node with every part a dashboard plots: the super-peer and the
	// cluster bus (an embedded server on loopback).
	cfg := node.DefaultConfig()
	cfg.Listen, cfg.Admin, cfg.Seeder.ICEUDP = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Signal.TicketSecret = "a-secret-for-the-dashboard-test"
	cfg.Cluster.NATS.Listen = "127.0.0.1:0"
	n, err := node.New(cfg, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	}()
	names := n.MetricNames()
	known := func(m string) bool {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			if slices.Contains(names, strings.TrimSuffix(m, suffix)) && strings.HasSuffix(m, suffix) {
				return true
			}
		}
		return false
	}
	metric := regexp.MustCompile(`edgeswarm_[a-z0-9_]+`)
	used := 0
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			ms := metric.FindAllString(tg.Expr, -1)
			if len(ms) == 0 {
				t.Errorf("panel %q: %q queries no edgeswarm metric", p.Title, tg.Expr)
			}
			for _, m := range ms {
				used++
				if !known(m) {
					t.Errorf("panel %q queries %s, which the node does not export", p.Title, m)
				}
			}
		}
	}
	if used < 10 {
		t.Errorf("the dashboard queries only %d metrics", used)
	}

	var scrape struct {
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	b, err := os.ReadFile("grafana/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &scrape); err != nil || len(scrape.ScrapeConfigs) == 0 {
		t.Fatalf("prometheus.yml: %v (%d jobs)", err, len(scrape.ScrapeConfigs))
	}
}

func TestLocalClusterScriptParses(t *testing.T) {
	if out, err := exec.Command("sh", "-n", "local/run.sh").CombinedOutput(); err != nil {
		t.Fatalf("sh -n local/run.sh: %v %s", err, out)
	}
}
