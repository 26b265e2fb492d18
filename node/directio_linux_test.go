package node

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// directPair is a loopback TCP connection whose server end reads and
// writes directly.
func directPair(t *testing.T) (server net.Conn, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	server = directIO(sc)
	if _, ok := server.(*directConn); !ok {
		t.Fatalf("directIO(%T) = %T, want *directConn", sc, server)
	}
	t.Cleanup(func() { server.Close(); cc.Close() })
	return server, cc.(*net.TCPConn)
}

// A response far larger than the socket buffers crosses intact while the
// request side streams the other way: the writer waits in the poller when
// the socket is full and resumes where it stopped.
func TestDirectConnCarriesBothWays(t *testing.T) {
	server, client := directPair(t)
	big := make([]byte, 16<<20+12345) // not a whole number of write turns
	for i := range big {
		big[i] = byte(i*7 + i>>12)
	}
	up := bytes.Repeat([]byte("GET /live/low/index.m3u8 HTTP/1.1\r\n\r\n"), 20000)

	wrote := make(chan error, 1)
	go func() {
		n, err := server.Write(big)
		if err == nil && n != len(big) {
			err = io.ErrShortWrite
		}
		wrote <- err
	}()
	sent := make(chan error, 1)
	go func() {
		_, err := client.Write(up)
		if err == nil {
			err = client.CloseWrite()
		}
		sent <- err
	}()
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(server) // ends with io.EOF, which ReadAll drops
		read <- b
	}()

	got := make([]byte, len(big))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("server write: %v", err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("the client received different bytes than the server wrote")
	}
	if err := <-sent; err != nil {
		t.Fatalf("client write: %v", err)
	}
	if b := <-read; !bytes.Equal(b, up) {
		t.Fatalf("server read %d bytes, want the client's %d", len(b), len(up))
	}
}

func TestDirectConnEOF(t *testing.T) {
	server, client := directPair(t)
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	client.Close()
	buf := make([]byte, 8)
	if n, err := server.Read(buf); n != 1 || err != nil {
		t.Fatalf("first read = %d, %v; want 1 byte", n, err)
	}
	if n, err := server.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed = %d, %v; want 0, io.EOF", n, err)
	}
}

// A read deadline interrupts a read that waits in the poller, with the
// error net.Conn gives.
func TestDirectConnReadDeadline(t *testing.T) {
	server, _ := directPair(t)
	if err := server.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err := server.Read(make([]byte, 8))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past its deadline: %v, want a timeout", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("error %v: want a *net.OpError for read", err)
	}
}

// Closing the connection ends a read that waits for data.
func TestDirectConnCloseUnblocksRead(t *testing.T) {
	server, _ := directPair(t)
	done := make(chan error, 1)
	go func() {
		_, err := server.Read(make([]byte, 8))
		done <- err
	}()
	// The read may start before or after Close; either way it must end
	// with net.ErrClosed rather than wait for data that never comes.
	server.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed connection: %v, want net.ErrClosed", err)
	}
}

// Writing to a connection the peer reset reports the kernel's error.
func TestDirectConnWriteAfterReset(t *testing.T) {
	server, client := directPair(t)
	if err := client.SetLinger(0); err != nil { // close sends RST
		t.Fatal(err)
	}
	client.Close()
	// The reset arrives asynchronously; keep writing until it is seen.
	var err error
	for range 1000 {
		if _, err = server.Write(make([]byte, 64<<10)); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a reset connection: %v, want ECONNRESET or EPIPE", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" {
		t.Fatalf("error %v: want a *net.OpError for write", err)
	}
}

// Connections that are not sockets pass through unchanged.
func TestDirectIOLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := directIO(a); got != a {
		t.Fatalf("directIO(net.Pipe) = %T, want the pipe itself", got)
	}
}

// Public sockets keep at most notsentLowat unsent bytes, so segments wait
// in the cache rather than in a send buffer per viewer.
func TestDirectConnLimitsUnsentBytes(t *testing.T) {
	server, _ := directPair(t)
	rc, err := server.(*directConn).Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil || got != notsentLowat {
		t.Fatalf("TCP_NOTSENT_LOWAT = %d (%v), want %d", got, gerr, notsentLowat)
	}
}
