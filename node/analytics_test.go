package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/quic-go/quic-go/http3"

	"github.com/edgeswarm/edgeswarm/analytics"
	"github.com/edgeswarm/edgeswarm/internal/wsclient"
	"github.com/edgeswarm/edgeswarm/wire"
)

const testToken = "test-admin-token-0123"

func adminGet(tb testing.TB, n *Node, path, token string, v any) int {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+n.AdminAddr()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			tb.Fatal(err)
		}
	}
	return resp.StatusCode
}

func postBeacon(tb testing.TB, n *Node, body []byte, origin string) *http.Response {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+n.Addr()+wire.BeaconPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// A viewer over signaling and one sending beacons reach the admin API's
// figures under the stream the node served, behind the admin token.
func TestTelemetryReachesTheAPI(t *testing.T) {
	clk := newFakeClock()
	cfg := testConfig("")
	cfg.SuperPeer = false
	cfg.AdminToken = testToken
	n := startNode(t, cfg, clk.Now)
	base := "http://" + n.Addr()
	httpGet(t, base+"/live/master.m3u8")
	r, _ := httpGet(t, base+"/live/low/index.m3u8")
	swarm, ticket := r.Header.Get(wire.SwarmHeader), r.Header.Get(wire.TicketHeader)
	// The playlist's response may come before its fill is recorded; a
	// viewer reports 10 s later, this test at once.
	waitFor(t, func() bool { return n.stats.Knows("/live/master.m3u8") && n.stats.Knows(swarm) })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := wsclient.Dial(ctx, "ws://"+n.Addr()+wire.SignalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(&wire.Join{Swarm: swarm, Ticket: ticket}); err != nil {
		t.Fatal(err)
	}
	m, err := conn.Recv(ctx)
	w, ok := m.(*wire.Welcome)
	if err != nil || !ok || w.Config.StatsIntervalMs != 10000 {
		t.Fatalf("welcome: %#v %v", m, err)
	}
	st := &wire.Stats{HTTPBytes: 300_000, WatchMs: 9000, StartupMs: 420, Bitrate: 525_000, Browser: "chrome", BrowserMajor: 131,
		WebRTC: true, Upload: true, Group: wire.GroupP2P, Stream: "/live/master.m3u8"}
	if err := conn.Send(st); err != nil {
		t.Fatal(err)
	}
	beacon, _ := wire.Encode(&wire.Stats{HTTPBytes: 200_000, P2PBytes: 1 << 30, WatchMs: 8000, StartupMs: 380, Browser: "firefox",
		BrowserMajor: 140, Mobile: true, Group: wire.GroupHTTP, Stream: "/live/master.m3u8", Swarm: swarm, Session: "page1"})
	resp := postBeacon(t, n, beacon, "https://www.example.com")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("beacon: %s, ACAO %q", resp.Status, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	pre, _ := http.NewRequest(http.MethodOptions, "http://"+n.Addr()+wire.BeaconPath, nil)
	pre.Header.Set("Origin", "https://www.example.com")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	if resp, err := http.DefaultClient.Do(pre); err != nil || resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("beacon preflight: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp := postBeacon(t, n, bytes.Repeat([]byte("x"), wire.MaxBeaconSize+1), ""); resp.StatusCode != 413 {
		t.Errorf("large beacon: %s", resp.Status)
	}
	if resp := postBeacon(t, n, []byte(`{"v":1,"type":"stats"}`), ""); resp.StatusCode != 400 {
		t.Errorf("beacon without swarm: %s", resp.Status)
	}
	// The stats message travels over the WebSocket: wait until it is in.
	waitFor(t, func() bool {
		c, err := testutil.GatherAndCount(n.metrics.reg, "edgeswarm_telemetry_reports_total")
		return err == nil && c == 2 && testutil.ToFloat64(n.stats.ReportsCounter(analytics.ViaSignal)) == 1
	})
	clk.Advance(10 * time.Second)

	if code := adminGet(t, n, "/api/v1/streams", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("API without the token: %d", code)
	}
	var o analytics.Overview
	if code := adminGet(t, n, "/api/v1/streams?window=1m", testToken, &o); code != 200 {
		t.Fatalf("API: %d", code)
	}
	if len(o.Streams) != 1 || o.Streams[0].Stream != "/live/master.m3u8" {
		t.Fatalf("streams %+v", o.Streams)
	}
	s := o.Streams[0]
	if s.Viewers != 2 || s.Groups.P2P.Viewers != 1 || s.Groups.HTTP.Viewers != 1 || s.Bytes.HTTP != 500_000 || s.Bytes.P2P != 0 ||
		s.Groups.P2P.StartupP50Ms == 0 || s.Groups.HTTP.Startups != 1 || s.Renditions != 1 {
		t.Errorf("stream figures %+v", s)
	}
	if !(o.Platforms.Mobile == 1 && o.Platforms.Desktop == 1) {
		t.Errorf("platforms %+v", o.Platforms)
	}
	var d analytics.StreamDetail
	if code := adminGet(t, n, "/api/v1/streams/live/master.m3u8?window=1m", testToken, &d); code != 200 || len(d.Swarms) != 1 || d.Swarms[0].Swarm != swarm {
		t.Errorf("stream detail %d %+v", code, d)
	}
	// The dashboard page needs no token: it asks for one.
	req, _ := http.NewRequest(http.MethodGet, "http://"+n.AdminAddr()+"/", nil)
	page, err := http.DefaultClient.Do(req)
	if err != nil || page.StatusCode != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("dashboard: %v %v", page, err)
	}
	page.Body.Close()
	_, body := httpGet(t, "http://"+n.AdminAddr()+"/metrics")
	for _, want := range []string{
		`edgeswarm_stream_viewers{group="http",stream="/live/master.m3u8"} 1`,
		`edgeswarm_stream_bytes_total{source="http",stream="/live/master.m3u8"} 500000`,
		`edgeswarm_viewer_startup_seconds_count{group="p2p"} 1`,
		`edgeswarm_http_response_seconds_count`,
		`edgeswarm_origin_fetch_seconds_count`,
		`edgeswarm_telemetry_dropped_total{reason="too_large"} 1`,
		`edgeswarm_build_info`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Over HTTP/3 too, a beacon reaches the analytics (and a bad one is refused).
func TestBeaconOverHTTP3(t *testing.T) {
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("x")) })
	cfg := testConfig(o.URL)
	cfg.TLSCert, cfg.TLSKey, _ = selfSigned(t)
	data, err := os.ReadFile(cfg.TLSCert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	n := startNode(t, cfg, nil)
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.Close()
	h3 := &http.Client{Transport: tr}
	post := func(body []byte) *http.Response {
		t.Helper()
		resp, err := h3.Post("https://"+n.Addr()+wire.BeaconPath, "text/plain;charset=UTF-8", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	good, _ := wire.Encode(&wire.Stats{HTTPBytes: 1000, WatchMs: 5000, Swarm: "/a/index.m3u8", Session: "h3page"})
	if r := post(good); r.StatusCode != 204 || r.ProtoMajor != 3 {
		t.Fatalf("beacon over HTTP/3: %s (proto %d)", r.Status, r.ProtoMajor)
	}
	if r := post([]byte(`{"v":1,"type":"stats"}`)); r.StatusCode != 400 {
		t.Fatalf("beacon without swarm over HTTP/3: %s", r.Status)
	}
	if got := testutil.ToFloat64(n.stats.ReportsCounter(analytics.ViaBeacon)); got != 1 {
		t.Fatalf("beacons counted %v, want 1", got)
	}
}
