package node

import (
	"net"
	"strings"
	"testing"
)

// TestNewReportsAPortInUse: a node that cannot bind its ICE port returns
// the error (it used to panic closing the listeners of a nil node), and the
// listeners it had bound are released.
func TestNewReportsAPortInUse(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := testConfig("http://127.0.0.1:9")
	cfg.Listen = freeTCPAddr(t)
	cfg.Seeder.ICEUDP = busy.LocalAddr().String()
	n, err := New(cfg, Options{})
	if err == nil {
		n.closeListeners()
		t.Fatal("New bound an ICE port that is in use")
	}
	if !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error %q does not say the port is in use", err)
	}
	// Nothing New opened is left behind: the public address is free again.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatalf("public address still bound after the failed New: %v", err)
	}
	ln.Close()
}

func freeTCPAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
