package node

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHitH1KeepAlive is a cache hit of a small playlist over one
// kept-alive loopback connection: the node's whole path, listener and
// connection wrappers included.
func BenchmarkHitH1KeepAlive(b *testing.B) {
	pl := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n" + strings.Repeat("#EXTINF:2.0,\nseg.ts\n", 100) + "#EXT-X-ENDLIST\n"
	o := newCountingOrigin(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		_, _ = w.Write([]byte(pl))
	})
	n := startNode(b, testConfig(o.URL), nil)
	c, err := net.Dial("tcp", n.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET /vod/low/index.m3u8 HTTP/1.1\r\nHost: edge.example\r\nUser-Agent: bench\r\n\r\n")
	get := func() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
	get()
	b.ResetTimer()
	for b.Loop() {
		get()
	}
}

// BenchmarkGuardPerRequest is what the guard listener adds to each
// request on a kept-alive connection: the bare-LF scan of the bytes read
// and the two state changes fasthttp reports.
func BenchmarkGuardPerRequest(b *testing.B) {
	g := newGuardListener(nil, 256, 0, newMetrics(nil), func(string, ...any) {})
	gc := &guardConn{g: g}
	req := []byte("GET /live/720p/seg-123456.ts HTTP/1.1\r\nHost: edge.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\nAccept: */*\r\nOrigin: https://www.example.com\r\nRange: bytes=0-\r\n\r\n")
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		g.connState(gc, fasthttp.StateActive)
		if bad, _ := hasBareLF(req, false); bad {
			b.Fatal("bare LF")
		}
		g.connState(gc, fasthttp.StateIdle)
	}
}
