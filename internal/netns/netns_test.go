package netns

import (
	"net"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func TestLoopbackOnly(t *testing.T) {
	RequireLoopbackOnly(t)
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			t.Errorf("interface %s is up", i.Name)
		}
	}
	// Loopback works: a UDP round trip on 127.0.0.1.
	a, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.WriteTo([]byte("ping"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, from, err := b.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" || from.String() != a.LocalAddr().String() {
		t.Fatalf("read %q from %v, %v", buf[:n], from, err)
	}
}
