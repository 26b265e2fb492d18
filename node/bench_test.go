package node

import (
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHitH1 measures the node's own work for a cache hit of a small
// playlist through the HTTP/1.1 front (no sockets: the kernel's share is
// the same for every server).
func BenchmarkHitH1(b *testing.B) {
	pl := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n" + strings.Repeat("#EXTINF:2.0,\nseg.ts\n", 100) + "#EXT-X-ENDLIST\n"
	o := newCountingOrigin(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "max-age=3600") // fresh: every request is a hit
		_, _ = w.Write([]byte(pl))
	})
	n := startNode(b, testConfig(o.URL), nil)
	httpGet(b, "http://"+n.Addr()+"/vod/low/index.m3u8")
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/vod/low/index.m3u8")
	ctx.Request.Header.SetHost("edge.example")
	ctx.Request.Header.Set("User-Agent", "wrk")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Response.Reset()
		n.handleH1(&ctx)
	}
	if ctx.Response.StatusCode() != 200 {
		b.Fatal(ctx.Response.StatusCode())
	}
}
