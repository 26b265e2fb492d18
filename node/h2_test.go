package node

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestHTTP2OnTheTLSPort: the TLS port offers h2 and http/1.1 by ALPN. Go's
// HTTP/2 client gets the same cached bytes and Cache-Status as an
// HTTP/1.1 client, a request body reaches the origin over h2, and the
// metrics count h2 apart. Stopping the node leaves no goroutine behind.
func TestHTTP2OnTheTLSPort(t *testing.T) {
	// Registered first, so it runs last: after the clients and the node.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := goleak.Find(ignore,
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		); err != nil {
			t.Errorf("goroutines left after stopping the node: %v", err)
		}
	})
	body := segmentBytes(300 << 10)
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			_, _ = io.WriteString(w, "posted "+string(b))
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "video/mp2t")
		_, _ = w.Write(body)
	})
	cfg := testConfig(o.URL)
	cfg.TLSCert, cfg.TLSKey, _ = selfSigned(t)
	data, err := os.ReadFile(cfg.TLSCert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	n := startNode(t, cfg, nil)
	url := "https://" + n.Addr() + "/h2/1.ts"

	var h2only http.Protocols
	h2only.SetHTTP2(true)
	h2t := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Protocols: &h2only}
	t.Cleanup(h2t.CloseIdleConnections)
	h2c := &http.Client{Transport: h2t}
	h1t := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}}
	t.Cleanup(h1t.CloseIdleConnections)
	h1c := &http.Client{Transport: h1t}

	get := func(c *http.Client, what string, wantProto int, wantStatus string) {
		t.Helper()
		r, err := c.Get(url)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil || r.ProtoMajor != wantProto || !bytes.Equal(got, body) || !strings.HasPrefix(r.Header.Get("Cache-Status"), wantStatus) || r.Header.Get("Content-Type") != "video/mp2t" {
			t.Fatalf("%s: HTTP/%d, %d bytes, Cache-Status %q, Content-Type %q, %v; want HTTP/%d, the origin's %d bytes, %q",
				what, r.ProtoMajor, len(got), r.Header.Get("Cache-Status"), r.Header.Get("Content-Type"), err, wantProto, len(body), wantStatus)
		}
	}
	get(h2c, "h2 fill", 2, "edgeswarm; fwd=miss")
	get(h2c, "h2 hit", 2, "edgeswarm; hit")
	get(h1c, "http/1.1 on the same port", 1, "edgeswarm; hit")
	if got := o.count("/h2/1.ts"); got != 1 {
		t.Fatalf("origin requests %d, want 1 for all three", got)
	}

	r, err := h2c.Post("https://"+n.Addr()+"/h2/form", "text/plain", strings.NewReader("a=1"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.ProtoMajor != 2 || string(got) != "posted a=1" {
		t.Fatalf("POST over h2: HTTP/%d %q", r.ProtoMajor, got)
	}

	_, metrics := httpGet(t, "http://"+n.AdminAddr()+"/metrics")
	for _, want := range []string{`edgeswarm_http_requests_total{code="200",proto="h2"} 3`, `edgeswarm_http_requests_total{code="200",proto="h1"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Fatalf("metrics lack %s:\n%s", want, metrics)
		}
	}
}
