package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/wire"
)

const ctlToken = "0123456789abcdef-control"

func TestAdminKeyTakesAnAddressOrAMapping(t *testing.T) {
	cases := []struct {
		yaml, admin, token, err string
	}{
		{yaml: "admin: 127.0.0.1:9999\n", admin: "127.0.0.1:9999"},
		{yaml: "admin: {listen: '127.0.0.1:9998', token: " + ctlToken + "}\n", admin: "127.0.0.1:9998", token: ctlToken},
		{yaml: "admin:\n  token: " + ctlToken + "\n", admin: "127.0.0.1:9090", token: ctlToken},
		{yaml: "admin_token: " + ctlToken + "\n", admin: "127.0.0.1:9090", token: ctlToken},
		{yaml: "admin_token: " + ctlToken + "\nadmin: {token: " + ctlToken + "}\n", admin: "127.0.0.1:9090", token: ctlToken},
		{yaml: "admin_token: " + ctlToken + "\nadmin: {token: other-token-0123456789}\n", err: "admin.token, admin_token: both set"},
		{yaml: "admin:\n  listen: 127.0.0.1:1\n  tokn: x\n", err: "admin.tokn: unknown key"},
		{yaml: "admin: {token: short}\n", err: "admin.token (admin_token): at least 16 characters"},
		{yaml: "admin: 0.0.0.0:9090\n", err: `admin: "0.0.0.0:9090" can be reached from other machines; set admin.token`},
		{yaml: "admin: {listen: ':9090', token: " + ctlToken + "}\n", admin: ":9090", token: ctlToken},
		{yaml: "policies:\n  - {name: a, prefix: /, holdback: 3}\n", err: "policies[0].holdback"},
	}
	for _, c := range cases {
		t.Run(c.yaml, func(t *testing.T) {
			cfg, err := ParseConfig([]string{"--config", writeFile(t, "c.yaml", c.yaml)}, func(string) string { return "" }, io.Discard)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Admin != c.admin || cfg.AdminToken != c.token {
				t.Fatalf("admin %q token %q", cfg.Admin, cfg.AdminToken)
			}
		})
	}
}

func TestAdminReachableWithoutTokenDoesNotStart(t *testing.T) {
	code, _, stderr := runMain(t, nil, "--admin", "0.0.0.0:0", "--listen", "127.0.0.1:0")
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "set admin.token") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runMain(t, map[string]string{"EDGESWARM_ADMIN_TOKEN": "short"}, "--admin", "[::]:0")
	if code != 2 || !strings.Contains(stderr, "at least 16 characters") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// ctlNode is a node started from a configuration file the test rewrites.
type ctlNode struct {
	*Node
	path string
}

func startFromFile(t *testing.T, yaml string) *ctlNode {
	t.Helper()
	path := writeFile(t, "edgeswarm.yaml", yaml)
	args := []string{"--config", path, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--ice-udp", "127.0.0.1:0", "--super-peer", "false", "--cache-size", "64MiB"}
	load := func() (Config, error) { return ParseConfig(args, func(string) string { return "" }, io.Discard) }
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, Options{Load: load})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return &ctlNode{Node: n, path: path}
}

func (c *ctlNode) rewrite(t *testing.T, yaml string) {
	t.Helper()
	if err := os.WriteFile(c.path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

// api calls the control API and decodes its JSON answer.
func api(t *testing.T, admin, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, m
}

// viewer joins swarm over the node's real WebSocket.
type viewer struct {
	t *testing.T
	c *wsclient.Conn
}

func joinViewer(t *testing.T, n *Node, swarm string, caps wire.Caps) (*viewer, *wire.Welcome, *wire.Policy) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Send(&wire.Join{Swarm: swarm, Caps: caps}); err != nil {
		t.Fatal(err)
	}
	v := &viewer{t, c}
	w, ok := v.next(10 * time.Second).(*wire.Welcome)
	if !ok {
		t.Fatal("no welcome")
	}
	p, ok := v.next(10 * time.Second).(*wire.Policy)
	if !ok {
		t.Fatal("no policy after the welcome")
	}
	return v, w, p
}

func (v *viewer) next(within time.Duration) wire.Message {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	m, err := v.c.Recv(ctx)
	if err != nil {
		v.t.Fatalf("recv: %v", err)
	}
	return m
}

// policyWithin returns the next policy message, which must come within d
// (what the issue asks of a change: connected viewers have it within 5 s).
func (v *viewer) policyWithin(d time.Duration) *wire.Policy {
	v.t.Helper()
	end := time.Now().Add(d)
	for {
		if p, ok := v.next(time.Until(end)).(*wire.Policy); ok {
			return p
		}
	}
}

const baseYAML = "signal: {open: true}\nadmin: {token: " + ctlToken + "}\n"

func TestControlAPIAuthPoliciesAndPeers(t *testing.T) {
	n := startFromFile(t, baseYAML+"policies:\n  - {name: vod, prefix: /vod/, max_peers: 3}\n")
	adm := n.AdminAddr()
	for _, tok := range []string{"", "not-the-token-0123456"} {
		if code, m := api(t, adm, "GET", "/api/v1/swarms", tok, ""); code != 401 || m["error"] != "unauthorized" {
			t.Fatalf("token %q: %d %v", tok, code, m)
		}
	}
	desk, w, p := joinViewer(t, n.Node, "/live/720p.m3u8", wire.Caps{Upload: true})
	if w.Config.Holdback || p.P2POff || p.UploadOff || p.Revision != 1 {
		t.Fatalf("desktop join: %+v %+v", w.Config, p)
	}
	mob, _, mp := joinViewer(t, n.Node, "/live/720p.m3u8", wire.Caps{Mobile: true})
	if !mp.UploadOff {
		t.Fatalf("mobile viewers download only by default: %+v", mp)
	}
	_, _, vp := joinViewer(t, n.Node, "/vod/a/720p.m3u8", wire.Caps{Upload: true})
	if vp.MaxPeers != 3 {
		t.Fatalf("the file's policy: %+v", vp)
	}

	code, m := api(t, adm, "GET", "/api/v1/swarms", ctlToken, "")
	sw := m["swarms"].([]any)
	if code != 200 || len(sw) != 2 || sw[0].(map[string]any)["swarm"] != "/live/720p.m3u8" || sw[0].(map[string]any)["viewers"].(float64) != 2 || sw[1].(map[string]any)["policy"] != "vod" {
		t.Fatalf("swarms: %d %v", code, m)
	}
	_, m = api(t, adm, "GET", "/api/v1/peers?swarm=/live/720p.m3u8", ctlToken, "")
	var platforms []string
	for _, p := range m["peers"].([]any) {
		pm := p.(map[string]any)
		if _, ok := pm["address"]; ok {
			t.Fatalf("an address without ?addresses=1: %v", pm)
		}
		platforms = append(platforms, pm["platform"].(string))
	}
	slices.Sort(platforms)
	if strings.Join(platforms, ",") != "desktop,mobile" {
		t.Fatalf("peers: %v", m)
	}
	_, m = api(t, adm, "GET", "/api/v1/peers?swarm=/live/720p.m3u8&addresses=1", ctlToken, "")
	if m["peers"].([]any)[0].(map[string]any)["address"] != "127.0.0.1" {
		t.Fatalf("addresses asked for: %v", m)
	}

	// P2P off for /live/ through the API: both joined viewers are told.
	code, _ = api(t, adm, "PUT", "/api/v1/policies/live-off", ctlToken, `{"prefix":"/live/","p2p":false}`)
	if code != 201 {
		t.Fatalf("create: %d", code)
	}
	for _, v := range []*viewer{desk, mob} {
		if p := v.policyWithin(5 * time.Second); !p.P2POff || p.Revision != 2 {
			t.Fatalf("after the change: %+v", p)
		}
	}
	// A new join gets it at once.
	if _, _, p := joinViewer(t, n.Node, "/live/720p.m3u8", wire.Caps{Upload: true}); !p.P2POff {
		t.Fatalf("new join: %+v", p)
	}
	// Back on.
	if code, _ := api(t, adm, "DELETE", "/api/v1/policies/live-off", ctlToken, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if p := desk.policyWithin(5 * time.Second); p.P2POff {
		t.Fatalf("back on: %+v", p)
	}
	if code, m := api(t, adm, "PUT", "/api/v1/policies", ctlToken, `{"policies":[{"name":"x","regex":"(("}]}`); code != 422 || !strings.Contains(m["message"].(string), "policies[0].regex") {
		t.Fatalf("bad regex: %d %v", code, m)
	}
}

func TestPurgeThroughTheAPI(t *testing.T) {
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		_, _ = w.Write([]byte("segment bytes of " + r.URL.Path))
	})
	n := startFromFile(t, baseYAML+"origin: "+o.URL+"/\n")
	pub := "http://" + n.Addr()
	for _, p := range []string{"/vod/a/1.ts", "/vod/a/2.ts", "/vod/b/1.ts"} {
		httpGet(t, pub+p)
		httpGet(t, pub+p)
	}
	if o.count("/vod/a/1.ts") != 1 {
		t.Fatalf("not cached: %d fetches", o.count("/vod/a/1.ts"))
	}
	code, m := api(t, n.AdminAddr(), "POST", "/api/v1/purge", ctlToken, `{"prefix":"/vod/a/"}`)
	if code != 200 || m["purged"].(float64) < 1 {
		t.Fatalf("purge: %d %v", code, m)
	}
	if code, _ := api(t, n.AdminAddr(), "POST", "/api/v1/purge", ctlToken, `{"key":"/vod/b/1.ts"}`); code != 200 {
		t.Fatalf("purge key: %d", code)
	}
	for _, p := range []string{"/vod/a/1.ts", "/vod/a/2.ts", "/vod/b/1.ts"} {
		httpGet(t, pub+p)
		if o.count(p) != 2 {
			t.Errorf("%s: %d origin fetches after the purge, want 2", p, o.count(p))
		}
	}
	if code, _ := api(t, n.AdminAddr(), "POST", "/api/v1/purge", ctlToken, `{"prefix":"vod"}`); code != 400 {
		t.Fatalf("bad prefix: %d", code)
	}
}

func TestReloadAppliesLiveKeysAndKeepsTheRunningConfigOnError(t *testing.T) {
	a := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("from a")) })
	b := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("from b")) })
	base := baseYAML + "cors: {allow_origins: ['https://one.example']}\n"
	n := startFromFile(t, base+"origin: "+a.URL+"/\n")
	adm, pub := n.AdminAddr(), "http://"+n.Addr()
	v, _, _ := joinViewer(t, n.Node, "/live/720p.m3u8", wire.Caps{Upload: true})
	if resp, body := httpGet(t, pub+"/x/1.ts", "Origin", "https://one.example"); string(body) != "from a" || resp.Header.Get("Access-Control-Allow-Origin") != "https://one.example" {
		t.Fatalf("before: %q %v", body, resp.Header)
	}

	// A bad file: nothing changes, the error names the key.
	n.rewrite(t, base+"origin: "+b.URL+"/\nstale_grace: -1s\n")
	code, m := api(t, adm, "POST", "/api/v1/reload", ctlToken, "")
	if code != 422 || !strings.Contains(m["message"].(string), "stale_grace") {
		t.Fatalf("bad file: %d %v", code, m)
	}
	if _, body := httpGet(t, pub+"/x/2.ts"); string(body) != "from a" {
		t.Fatalf("a bad reload changed the origin: %q", body)
	}
	n.rewrite(t, base+"origin: "+b.URL+"/\nupstream: {ttl: {segment: 0s}, routes: []}\nunknown_key: 1\n")
	if code, m := api(t, adm, "POST", "/api/v1/reload", ctlToken, ""); code != 422 || !strings.Contains(m["message"].(string), "unknown_key: unknown key") {
		t.Fatalf("unknown key: %d %v", code, m)
	}

	// A good one: new origin, CORS, policies and token; stale_grace needs a restart.
	newToken := "fedcba9876543210-control"
	n.rewrite(t, "signal: {open: true}\nadmin: {token: "+newToken+"}\ncors: {allow_origins: ['https://two.example']}\norigin: "+b.URL+"/\nstale_grace: 2m\n"+
		"policies:\n  - {name: live-http, prefix: /live/, http_only: true}\n")
	code, m = api(t, adm, "POST", "/api/v1/reload", ctlToken, "")
	if code != 200 {
		t.Fatalf("reload: %d %v", code, m)
	}
	applied := strings.Join(anyStrings(m["applied"]), ",")
	if applied != "policies,upstream,cors,admin.token" || strings.Join(anyStrings(m["restart_required"]), ",") != "stale_grace" {
		t.Fatalf("reload said %v", m)
	}
	if _, body := httpGet(t, pub+"/x/3.ts"); string(body) != "from b" {
		t.Fatalf("routes not reloaded: %q", body)
	}
	if resp, _ := httpGet(t, pub+"/x/4.ts", "Origin", "https://one.example"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("cors not reloaded: %v", resp.Header)
	}
	if resp, _ := httpGet(t, pub+"/x/5.ts", "Origin", "https://two.example"); resp.Header.Get("Access-Control-Allow-Origin") != "https://two.example" {
		t.Fatalf("cors not reloaded: %v", resp.Header)
	}
	if p := v.policyWithin(5 * time.Second); !p.HTTPOnly {
		t.Fatalf("policy after reload: %+v", p)
	}
	if code, _ := api(t, adm, "GET", "/api/v1/policies", ctlToken, ""); code != 401 {
		t.Fatalf("the old token still works: %d", code)
	}
	if code, _ := api(t, adm, "GET", "/api/v1/policies", newToken, ""); code != 200 {
		t.Fatalf("the new token does not: %d", code)
	}
	// The viewer's WebSocket survived the reload.
	if err := v.c.Send(&wire.Have{}); err != nil {
		t.Fatalf("connection dropped by the reload: %v", err)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// syncBuffer is a writer the test reads while Main writes.
type syncBuffer struct {
	mu    sync.Mutex
	b     strings.Builder
	lines chan string
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	for _, l := range strings.SplitAfter(string(p), "\n") {
		if strings.HasSuffix(l, "\n") {
			select {
			case s.lines <- l:
			default:
			}
		}
	}
	return len(p), nil
}

func TestSIGHUPReloads(t *testing.T) {
	path := writeFile(t, "edgeswarm.yaml", baseYAML)
	out := &syncBuffer{lines: make(chan string, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--config", path, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--ice-udp", "127.0.0.1:0", "--super-peer", "false"},
			out, io.Discard, func(k string) string {
				if k == "GOMEMLIMIT" {
					return "off"
				}
				return ""
			})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d", code)
		}
	}()
	var pub, adm string
	for pub == "" || adm == "" {
		select {
		case l := <-out.lines:
			if _, rest, ok := strings.Cut(l, "stream http://"); ok {
				pub = strings.TrimSuffix(strings.TrimSpace(rest), "/live/master.m3u8")
			}
			if _, rest, ok := strings.Cut(l, "metrics http://"); ok {
				adm = strings.TrimSuffix(strings.TrimSpace(rest), "/metrics")
			}
		case code := <-done:
			t.Fatalf("Main exited %d", code)
		}
	}
	c, err := wsclient.Dial(ctx, "ws://"+pub+wire.SignalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v := &viewer{t, c}
	if err := c.Send(&wire.Join{Swarm: "/live/720p.m3u8", Caps: wire.Caps{Upload: true}}); err != nil {
		t.Fatal(err)
	}
	v.next(10 * time.Second) // welcome
	if p := v.policyWithin(10 * time.Second); p.P2POff {
		t.Fatalf("%+v", p)
	}
	if err := os.WriteFile(path, []byte(baseYAML+"policies: [{name: off, prefix: /live/, p2p: false}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if p := v.policyWithin(5 * time.Second); !p.P2POff {
		t.Fatalf("after SIGHUP: %+v", p)
	}
	if code, m := api(t, adm, "GET", "/api/v1/policies", ctlToken, ""); code != 200 || len(m["policies"].([]any)) != 1 {
		t.Fatalf("%d %v", code, m)
	}
}

func TestHoldbackFromTheFile(t *testing.T) {
	n := startFromFile(t, baseYAML+"policies:\n  - {name: all-held, prefix: /live/, holdback: 1}\n  - {name: none-held, prefix: /, holdback: 0}\n")
	_, w, p := joinViewer(t, n.Node, "/live/720p.m3u8", wire.Caps{Upload: true})
	if !w.Config.Holdback || !p.Holdback {
		t.Fatalf("holdback 1: welcome %+v, policy %+v", w.Config, p)
	}
	_, w, p = joinViewer(t, n.Node, "/vod/720p.m3u8", wire.Caps{Upload: true})
	if w.Config.Holdback || p.Holdback {
		t.Fatalf("holdback 0: welcome %+v, policy %+v", w.Config, p)
	}
	_, m := api(t, n.AdminAddr(), "GET", "/api/v1/peers?swarm=/live/720p.m3u8", ctlToken, "")
	if g := m["peers"].([]any)[0].(map[string]any)["group"]; g != "holdback" {
		t.Fatalf("the API says group %v", g)
	}
}

func TestReloadChangesTheTicketSecret(t *testing.T) {
	tok := "admin: {token: " + ctlToken + "}\n"
	n := startFromFile(t, tok+"signal: {ticket_secret: first-secret-0123456789}\n")
	old := n.hub.IssueTicket("/live/720p.m3u8")
	n.rewrite(t, tok+"signal: {ticket_secret: second-secret-0123456789, ticket_ttl: 5m}\n")
	code, m := api(t, n.AdminAddr(), "POST", "/api/v1/reload", ctlToken, "")
	if code != 200 || !slices.Contains(anyStrings(m["applied"]), "signal.ticket_secret") || len(anyStrings(m["restart_required"])) != 0 {
		t.Fatalf("reload: %d %v", code, m)
	}
	fresh := n.hub.IssueTicket("/live/720p.m3u8")
	if fresh == old {
		t.Fatal("the new secret issued the old ticket")
	}
	join := func(ticket string) wire.Message {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Send(&wire.Join{Swarm: "/live/720p.m3u8", Ticket: ticket}); err != nil {
			t.Fatal(err)
		}
		m, err := c.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tk := range []string{old, fresh} {
		if _, ok := join(tk).(*wire.Welcome); !ok {
			t.Fatalf("ticket %q refused after the change", tk)
		}
	}
	if e, ok := join(strings.Replace(fresh, "v1.", "v1.1", 1)).(*wire.Error); !ok || e.Code != wire.CodeTicketInvalid {
		t.Fatalf("a forged ticket: %#v", e)
	}
}

func TestReloadChangesTheICEServers(t *testing.T) {
	tok := "admin: {token: " + ctlToken + "}\n"
	n := startFromFile(t, tok+"signal:\n  open: true\n  ice_servers:\n    - urls: [\"stun:first.example.com:3478\"]\n")
	urls := func(w *wire.Welcome) []string {
		var out []string
		for _, s := range w.Config.ICEServers {
			out = append(out, s.URLs...)
		}
		return out
	}
	_, before, _ := joinViewer(t, n.Node, "/live/720p.m3u8", wire.Caps{Upload: true})
	if !slices.Contains(urls(before), "stun:first.example.com:3478") {
		t.Fatalf("welcome before the reload: %v", urls(before))
	}
	n.rewrite(t, tok+"signal:\n  open: true\n  ice_servers:\n    - urls: [\"stun:second.example.com:3478\"]\n    - {urls: [\"turn:relay.example.com:3478\"], username: u, credential: c}\n")
	code, m := api(t, n.AdminAddr(), "POST", "/api/v1/reload", ctlToken, "")
	if code != 200 || !slices.Contains(anyStrings(m["applied"]), "signal.ice_servers") || len(anyStrings(m["restart_required"])) != 0 {
		t.Fatalf("reload: %d %v", code, m)
	}
	_, after, _ := joinViewer(t, n.Node, "/live/720p.m3u8", wire.Caps{Upload: true})
	got := urls(after)
	if slices.Contains(got, "stun:first.example.com:3478") || !slices.Contains(got, "stun:second.example.com:3478") || !slices.Contains(got, "turn:relay.example.com:3478") {
		t.Fatalf("welcome after the reload: %v", got)
	}
	// The node's own servers (its STUN) still come first.
	own := len(urls(before)) - 1
	if !slices.Equal(got[:own], urls(before)[:own]) {
		t.Fatalf("the node's own ICE servers changed: %v, then %v", urls(before), got)
	}
}
