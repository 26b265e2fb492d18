package natsbus

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
)

// routedServers starts n embedded servers configured by base (its
// Listen, ClusterListen and Routes are set here), routed to each other.
func routedServers(t *testing.T, n int, base Config) []*Server {
	t.Helper()
	var out []*Server
	var routes []string
	for i := range n {
		cfg := base
		cfg.Listen, cfg.ClusterListen, cfg.Routes = "127.0.0.1:0", "127.0.0.1:0", routes
		s, err := StartServer(cfg)
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		t.Cleanup(s.Close)
		out = append(out, s)
		routes = append(routes, "nats-route://"+s.ClusterAddr().String())
	}
	return out
}

// refused starts a bus with cfg and returns Start's error; a bus that
// connects is closed and fails the test.
func refused(t *testing.T, cfg Config) error {
	t.Helper()
	b, err := New(cfg, Options{})
	if err != nil {
		return err
	}
	if err := b.Start(cfg.URL, nil); err != nil {
		return err
	}
	_ = b.Close()
	t.Fatalf("a bus with %+v connected", cfg)
	return nil
}

// spans checks that a and b, on two servers of one cluster, see each
// other and that a viewer of b is offered a viewer of a.
func spans(t *testing.T, a, b *node) {
	t.Helper()
	a.waitNodes(t, 2)
	b.waitNodes(t, 2)
	vb := join(t, b, testSwarm)
	va := join(t, a, testSwarm)
	vb.waitOffered(va.id)
}

func writeSeed(t *testing.T, dir, name string) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, append(seed, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNKeyAuthenticatesTheBus(t *testing.T) {
	dir := t.TempDir()
	seed := writeSeed(t, dir, "node.nk")
	base := DefaultConfig()
	base.NKeySeedFile = seed
	srv := routedServers(t, 2, base)

	// Nodes holding the seed form one cluster across the two servers.
	cfg := DefaultConfig()
	cfg.NKeySeedFile = seed
	cfg.URL = srv[0].ClientURL()
	a := startNodeWith(t, "a", "", cfg)
	cfg.URL = srv[1].ClientURL()
	b := startNodeWith(t, "b", "", cfg)
	spans(t, a, b)

	// Another key, or none, is refused with a message naming the bus.
	other := DefaultConfig()
	other.URL, other.NKeySeedFile = srv[0].ClientURL(), writeSeed(t, dir, "other.nk")
	none := DefaultConfig()
	none.URL = srv[1].ClientURL()
	for _, c := range []Config{other, none} {
		err := refused(t, c)
		if err == nil || !strings.HasPrefix(err.Error(), "cluster.nats") || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Errorf("a node with nkey %q: %v", c.NKeySeedFile, err)
		}
	}

	// The route port admits no stranger: routes authenticate too.
	for _, s := range srv {
		routeRefusesStrangers(t, s.ClusterAddr().String())
	}

	// A seed file that holds no seed says which key is wrong.
	bad := filepath.Join(dir, "bad.nk")
	if err := os.WriteFile(bad, []byte("not a seed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.URL, c.NKeySeedFile = srv[0].ClientURL(), bad
	if err := refused(t, c); err == nil || !strings.HasPrefix(err.Error(), "cluster.nats.nkey_seed_file") {
		t.Errorf("a bad seed file: %v", err)
	}
	c.URL, c.Listen = "", "127.0.0.1:0"
	if _, err := StartServer(c); err == nil || !strings.HasPrefix(err.Error(), "cluster.nats.nkey_seed_file") {
		t.Errorf("an embedded server with a bad seed file: %v", err)
	}
}

// testPKI writes a CA and two certificates it signed for 127.0.0.1 (one
// for the servers and nodes, one from another CA) into dir.
type testPKI struct {
	ca, cert, key       string
	otherCert, otherKey string
	otherCA             string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	ca := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, string) {
		k := newKey()
		tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, k, write(name+".crt", "CERTIFICATE", der)
	}
	leaf := func(name string, caCert *x509.Certificate, caKey *ecdsa.PrivateKey) (string, string) {
		k := newKey()
		tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".crt", "CERTIFICATE", der), write(name+".key", "EC PRIVATE KEY", kd)
	}
	var p testPKI
	caCert, caKey, caFile := ca("bus-ca")
	p.ca = caFile
	p.cert, p.key = leaf("node", caCert, caKey)
	oCert, oKey, oFile := ca("other-ca")
	p.otherCA = oFile
	p.otherCert, p.otherKey = leaf("stranger", oCert, oKey)
	return p
}

func TestTLSSecuresTheBus(t *testing.T) {
	pki := newTestPKI(t)
	base := DefaultConfig()
	base.TLS = TLSConfig{CA: pki.ca, Cert: pki.cert, Key: pki.key}
	// Routes are TLS too, verified against the CA: the two servers form
	// one cluster only if their route handshakes succeed.
	srv := routedServers(t, 2, base)
	for i, s := range srv {
		if u := s.ClientURL(); !strings.HasPrefix(u, "tls://") {
			t.Fatalf("server %d: client URL %q, want tls://", i, u)
		}
	}

	cfg := DefaultConfig()
	cfg.TLS = base.TLS
	cfg.URL = srv[0].ClientURL()
	a := startNodeWith(t, "a", "", cfg)
	cfg.URL = srv[1].ClientURL()
	b := startNodeWith(t, "b", "", cfg)
	spans(t, a, b)

	for _, tc := range []struct {
		what string
		tls  TLSConfig
	}{
		// The servers verify clients: a node without a certificate, or
		// with one of another CA, is refused.
		{"no client certificate", TLSConfig{CA: pki.ca}},
		{"a certificate of another CA", TLSConfig{CA: pki.ca, Cert: pki.otherCert, Key: pki.otherKey}},
		// The node verifies the servers: with another CA it refuses them.
		{"another CA for the servers", TLSConfig{CA: pki.otherCA, Cert: pki.cert, Key: pki.key}},
	} {
		c := DefaultConfig()
		c.URL, c.TLS = srv[0].ClientURL(), tc.tls
		if err := refused(t, c); err == nil || !strings.HasPrefix(err.Error(), "cluster.nats") {
			t.Errorf("%s: %v", tc.what, err)
		}
	}

	// A server whose key does not load names the key.
	c := base
	c.Listen, c.TLS.Key = "127.0.0.1:0", filepath.Join(t.TempDir(), "missing.key")
	if _, err := StartServer(c); err == nil || !strings.HasPrefix(err.Error(), "cluster.nats.tls") {
		t.Errorf("an embedded server without its key: %v", err)
	}
}

// routeRefusesStrangers connects to a route port as a server without
// credentials would and wants an authorization error, not a PONG.
func routeRefusesStrangers(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	r := bufio.NewReader(c)
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "INFO ") {
		t.Fatalf("route port %s: %q %v, want its INFO", addr, l, err)
	}
	if _, err := io.WriteString(c, `CONNECT {"verbose":false,"pedantic":false,"tls_required":false,"name":"stranger","cluster":"edgeswarm"}`+"\r\nPING\r\n"); err != nil {
		t.Fatal(err)
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("route port %s: closed without an authorization error: %v", addr, err)
		}
		switch {
		case strings.HasPrefix(l, "-ERR") && strings.Contains(strings.ToLower(l), "authorization"):
			return
		case strings.HasPrefix(l, "PONG"):
			t.Fatalf("route port %s admitted a server without credentials", addr)
		}
	}
}
