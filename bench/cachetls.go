package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// The --tls part of the cache benchmark: the node's HTTP/1.1, HTTP/2 and
// HTTP/3 over TLS side by side, and nginx over HTTP/2, on the same
// workloads. h2load (Debian's nghttp2-client) loads HTTP/1.1 and HTTP/2
// alike; it has no HTTP/3 in Debian's build, so HTTP/3 is loaded by a Go
// client (quic-go) inside the bench, which costs more CPU per request than
// h2load: compare the h3 row with the node's h2 row loaded the same way
// (edgeswarm-h2-go) rather than with h2load's.

// The servers the --tls part adds.
const (
	serverNodeH1TLS = "edgeswarm-h1-tls"
	serverNodeH2    = "edgeswarm-h2"
	serverNodeH2Go  = "edgeswarm-h2-go"
	serverNodeH3Go  = "edgeswarm-h3-go"
	serverNginxH2   = "nginx-h2"
)

// Load generators of a target.
const (
	genWrk      = ""
	genH2loadH1 = "h2load-h1"
	genH2loadH2 = "h2load-h2"
	genGoH2     = "go-h2"
	genGoH3     = "go-h3"
)

// writeCert writes a self-signed certificate for 127.0.0.1 into dir and
// returns its files and a pool that trusts it.
func writeCert(dir string) (certFile, keyFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "edgeswarm bench"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool, nil
}

// findH2load locates h2load, installing nghttp2-client when asked to and
// allowed.
func findH2load(ctx context.Context, look func(string) string, install bool, stderr io.Writer, log *slog.Logger) (string, error) {
	if p := look("h2load"); p != "" {
		return p, nil
	}
	if !install {
		return "", fmt.Errorf("--tls needs h2load: install the Debian package nghttp2-client (apt-get install nghttp2-client), or rerun as root with --install")
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("--install needs root: run apt-get install nghttp2-client as root")
	}
	log.Info("installing", "packages", "nghttp2-client")
	ictx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ictx, "apt-get", "install", "-y", "--no-install-recommends", "nghttp2-client")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("apt-get install nghttp2-client: %w", err)
	}
	if p := look("h2load"); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("still missing after apt-get install: h2load")
}

// loadRun is one measured run of a load generator.
type loadRun interface {
	run(ctx context.Context) (runStats, string, error)
}

// h2loadRun is one invocation of h2load: every path in turn on each
// connection, one request at a time per connection (as wrk), for a
// duration.
type h2loadRun struct {
	Bin         string
	URLs        []string
	H1          bool // --h1: HTTP/1.1 over TLS; else HTTP/2
	Threads     int
	Connections int
	Duration    time.Duration
	LogFile     string // per-request log, for the percentiles
}

func (h h2loadRun) args() []string {
	a := []string{
		"--duration", strconv.Itoa(int((h.Duration + time.Second - 1) / time.Second)),
		"--clients", strconv.Itoa(h.Connections),
		"--threads", strconv.Itoa(h.Threads),
		"--max-concurrent-streams", "1",
		"--log-file", h.LogFile,
	}
	if h.H1 {
		a = append(a, "--h1")
	}
	return append(a, h.URLs...)
}

func (h h2loadRun) run(ctx context.Context) (runStats, string, error) {
	// h2load appends to its log: this run's requests only.
	if err := os.Remove(h.LogFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return runStats{}, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, h.Duration+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Bin, h.args()...)
	cmd.WaitDelay = stopGrace
	out, err := cmd.CombinedOutput()
	if err != nil {
		return runStats{}, string(out), fmt.Errorf("h2load: %w; output:\n%s", err, indent(strings.TrimSpace(string(out))))
	}
	s, err := parseH2load(string(out))
	if err != nil {
		return runStats{}, string(out), fmt.Errorf("h2load: %w; output:\n%s", err, indent(strings.TrimSpace(string(out))))
	}
	lat, err := readH2loadLog(h.LogFile)
	if err != nil {
		return runStats{}, string(out), err
	}
	s.setPercentiles(lat)
	if ps := cmd.ProcessState; ps != nil {
		s.WrkCPUSec = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	return s, string(out), nil
}

var (
	h2loadFinished = regexp.MustCompile(`finished in ([0-9.]+)(m?s),`)
	h2loadRequests = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2loadTraffic  = regexp.MustCompile(`traffic: \S+ \((\d+)\) total`)
	h2loadStatus   = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
)

// parseH2load reads h2load's summary: duration, requests, bytes (headers
// included, as wrk counts them) and failures.
func parseH2load(out string) (runStats, error) {
	var s runStats
	m := h2loadFinished.FindStringSubmatch(out)
	if m == nil {
		return s, fmt.Errorf("no %q line", "finished in")
	}
	s.DurationSec, _ = strconv.ParseFloat(m[1], 64)
	if m[2] == "ms" {
		s.DurationSec /= 1e3
	}
	if m = h2loadRequests.FindStringSubmatch(out); m == nil {
		return s, fmt.Errorf("no %q line", "requests:")
	}
	n := make([]int64, len(m))
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.ParseInt(m[i], 10, 64)
	}
	s.Requests = n[4] // succeeded
	s.Errors.Read, s.Errors.Timeout = n[5]+n[6], n[7]
	if m = h2loadStatus.FindStringSubmatch(out); m != nil {
		c4, _ := strconv.ParseInt(m[3], 10, 64)
		c5, _ := strconv.ParseInt(m[4], 10, 64)
		s.Errors.Status = c4 + c5
	}
	if m = h2loadTraffic.FindStringSubmatch(out); m == nil {
		return s, fmt.Errorf("no %q line", "traffic:")
	}
	s.Bytes, _ = strconv.ParseInt(m[1], 10, 64)
	if s.DurationSec <= 0 || s.Requests == 0 {
		return s, fmt.Errorf("no request succeeded")
	}
	s.ReqPerSec = float64(s.Requests) / s.DurationSec
	s.MBPerSec = float64(s.Bytes) / s.DurationSec / 1e6
	return s, nil
}

// readH2loadLog returns the request durations of h2load's --log-file
// (start time, status, duration in µs, tab-separated).
func readH2loadLog(path string) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("h2load log: %w", err)
	}
	defer f.Close()
	var out []time.Duration
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) < 3 {
			continue
		}
		us, err := strconv.ParseInt(strings.TrimSpace(fs[2]), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, time.Duration(us)*time.Microsecond)
	}
	return out, sc.Err()
}

// setPercentiles sets the latency percentiles from every request's
// duration.
func (s *runStats) setPercentiles(lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		i := min(len(lat)-1, int(p*float64(len(lat))))
		return float64(lat[i]) / float64(time.Millisecond)
	}
	s.P50Ms, s.P75Ms, s.P90Ms, s.P99Ms = at(0.50), at(0.75), at(0.90), at(0.99)
}

// goRun loads a server with Go clients, one connection each (HTTP/3 over
// quic-go, or HTTP/2), every path in turn, one request at a time per
// connection, for a duration.
type goRun struct {
	URLs        []string
	H3          bool
	Pool        *x509.CertPool
	Connections int
	Duration    time.Duration
	Timeout     time.Duration
}

func (g goRun) run(ctx context.Context) (runStats, string, error) {
	var (
		mu    sync.Mutex
		lat   []time.Duration
		bytes int64
		errs  errorCounts
		first error
		wg    sync.WaitGroup
	)
	ru0 := selfCPU()
	start := time.Now()
	end := start.Add(g.Duration)
	for c := range g.Connections {
		var rt http.RoundTripper
		if g.H3 {
			tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: g.Pool}}
			defer tr.Close()
			rt = tr
		} else {
			var p http.Protocols
			p.SetHTTP2(true)
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.Pool}, Protocols: &p, Proxy: nil}
			defer tr.CloseIdleConnections()
			rt = tr
		}
		client := &http.Client{Transport: rt, Timeout: g.Timeout}
		wg.Go(func() {
			var my []time.Duration
			var n int64
			var e errorCounts
			for i := c; time.Now().Before(end) && ctx.Err() == nil; i++ {
				t0 := time.Now()
				resp, err := client.Get(g.URLs[i%len(g.URLs)])
				if err != nil {
					e.Read++
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				k, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					e.Read++
					continue
				}
				if resp.StatusCode >= 400 {
					e.Status++
				}
				my = append(my, time.Since(t0))
				n += k
			}
			mu.Lock()
			lat, bytes = append(lat, my...), bytes+n
			errs.Read, errs.Status = errs.Read+e.Read, errs.Status+e.Status
			mu.Unlock()
		})
	}
	wg.Wait()
	wall := time.Since(start)
	s := runStats{Requests: int64(len(lat)), Bytes: bytes, DurationSec: wall.Seconds(), Errors: errs}
	if s.Requests == 0 {
		return s, "", fmt.Errorf("go client: no request succeeded (%d errors, the first: %v)", errs.total(), first)
	}
	s.ReqPerSec = float64(s.Requests) / s.DurationSec
	s.MBPerSec = float64(s.Bytes) / s.DurationSec / 1e6 // bodies only: the Go client does not see header bytes
	s.setPercentiles(lat)
	s.WrkCPUSec = (selfCPU() - ru0).Seconds()
	return s, "", ctx.Err()
}
