package node

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawExchange writes req on a fresh connection and reads one response.
// The read deadline only bounds a test that would otherwise hang for the
// server's one-minute read timeout.
func rawExchange(t *testing.T, addr, req string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to %q: %v", req, err)
	}
	return resp
}

func TestMalformedRequestsAnsweredAtOnce(t *testing.T) {
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("x")) })
	n := startNode(t, testConfig(o.URL), nil)
	for _, tt := range []struct {
		name, req string
		code      int
	}{
		{"bare LF line endings", "GET /a.ts HTTP/1.1\nHost: x\n\n", 400},
		{"bare LF after the request line", "GET /a.ts HTTP/1.1\nHost: x\r\n\r\n", 400}, // fasthttp alone takes it
		{"body over the limit", "POST /a.ts HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(maxRequestBody+1) + "\r\n\r\n" + strings.Repeat("a", maxRequestBody+1), 413},
		{"well formed", "GET /a.ts HTTP/1.1\r\nHost: x\r\n\r\n", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawExchange(t, n.Addr(), tt.req)
			_ = resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.code)
			}
		})
	}
}
