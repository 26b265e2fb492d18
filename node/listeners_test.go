package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// With listen_http, the node serves the same objects over plain HTTP
// beside HTTPS: one cache (one origin fetch for both), and stopping the
// node closes both ports.
func TestListenHTTPServesPlainHTTPBesideHTTPS(t *testing.T) {
	body := segmentBytes(200 << 10)
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write(body)
	})
	cfg := testConfig(o.URL)
	var certPool *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, certPool = selfSigned(t)
	cfg.ListenHTTP = "127.0.0.1:0"
	n, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	if n.HTTPAddr() == "" || n.HTTPAddr() == n.Addr() {
		t.Fatalf("HTTPAddr %q beside Addr %q", n.HTTPAddr(), n.Addr())
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPool}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	get := func(url string) []byte {
		t.Helper()
		res, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", url, res.Status)
		}
		return b
	}
	if got := get("http://" + n.HTTPAddr() + "/p/1.ts"); !bytes.Equal(got, body) {
		t.Fatalf("plain HTTP: %d bytes, want the origin's %d", len(got), len(body))
	}
	if got := get("https://" + n.Addr() + "/p/1.ts"); !bytes.Equal(got, body) {
		t.Fatalf("HTTPS: %d bytes, want the origin's %d", len(got), len(body))
	}
	if got := o.count("/p/1.ts"); got != 1 {
		t.Errorf("origin fetched /p/1.ts %d times for both ports, want once", got)
	}
	// The plain port speaks no TLS: a TLS client fails there.
	if _, err := c.Get("https://" + n.HTTPAddr() + "/p/1.ts"); err == nil {
		t.Error("the plain HTTP port answered a TLS handshake")
	}
	tr.CloseIdleConnections()
	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("node run: %v", err)
	}
	for _, a := range []string{n.HTTPAddr(), n.Addr()} {
		if conn, err := net.DialTimeout("tcp", a, 5*time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts after the node stopped", a)
		}
	}
}

// A temporary accept error on one listener is passed on and the listeners
// go on; Close ends Accept with net.ErrClosed.
func TestMergedListenerPassesTemporaryErrorsAndCloses(t *testing.T) {
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	flaky := &flakyListener{Listener: a, fail: 1}
	b, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newMergedListener(flaky, b)
	if m.Addr().String() != a.Addr().String() {
		t.Errorf("Addr %v, want the first listener's %v", m.Addr(), a.Addr())
	}
	if _, err := m.Accept(); !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("first Accept: %v, want the first listener's EMFILE", err)
	}
	for _, l := range []net.Listener{a, b} {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := m.Accept()
		if err != nil {
			t.Fatalf("Accept after a temporary error: %v", err)
		}
		got.Close()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if _, err := net.DialTimeout("tcp", b.Addr().String(), time.Second); err == nil {
		t.Error("the second listener still accepts after Close")
	}
}

type flakyListener struct {
	net.Listener
	fail int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fail > 0 {
		l.fail--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}
