package liveorigin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafov/m3u8"
	"go.uber.org/goleak"
)

// testConfig is a stream small and short enough that a test sees its
// window slide after a few seconds of encoding.
func testConfig() Config {
	c := DefaultConfig()
	c.Width, c.Height, c.FrameRate = 320, 180, 10
	c.VideoBitrate, c.Preset = 150_000, "ultrafast"
	c.GOP, c.SegmentDuration, c.Window = time.Second, time.Second, 3
	return c
}

func startOrigin(t *testing.T, cfg Config) *Origin {
	t.Helper()
	if _, err := exec.LookPath(cfg.FFmpeg); err != nil {
		t.Fatalf("these tests encode with ffmpeg, which is missing (apt-get install ffmpeg): %v", err)
	}
	o, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

func get(t *testing.T, srv *httptest.Server, p string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestOrigin(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfg := testConfig()
	o := startOrigin(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, err := o.Ready(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("playlist slides", func(t *testing.T) {
		// Each segment lasts exactly the configured duration.
		for i, d := range first.Durations {
			if d < 0.99 || d > 1.01 {
				t.Errorf("segment %d lasts %v s, want 1", i, d)
			}
		}
		// Two more segments than the window: the oldest of the first
		// playlist has left the window and been deleted.
		later, err := o.Wait(ctx, func(p Playlist) bool { return p.MediaSequence >= first.MediaSequence+uint64(cfg.Window)+1 })
		if err != nil {
			t.Fatal(err)
		}
		if n := len(later.Segments); n != cfg.Window {
			t.Errorf("the playlist lists %d segments, want the window of %d", n, cfg.Window)
		}
		if later.Segments[0] == first.Segments[0] {
			t.Errorf("the window did not slide: it still starts with %s", first.Segments[0])
		}
		srv := httptest.NewServer(o.Handler(HeadersNone))
		defer srv.Close()
		if res, _ := get(t, srv, "/live/"+cfg.Rendition+"/"+first.Segments[0]); res.StatusCode != http.StatusNotFound {
			t.Errorf("segment %s left the window, GET answered %d, want 404", first.Segments[0], res.StatusCode)
		}
		if res, body := get(t, srv, "/live/"+cfg.Rendition+"/"+later.Segments[len(later.Segments)-1]); res.StatusCode != 200 || len(body) == 0 || body[0] != 0x47 {
			t.Errorf("the newest segment: status %d, %d bytes, want 200 and MPEG-TS", res.StatusCode, len(body))
		}
	})

	t.Run("master playlist", func(t *testing.T) {
		srv := httptest.NewServer(o.Handler(HeadersNone))
		defer srv.Close()
		res, body := get(t, srv, MasterPath)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", MasterPath, res.StatusCode)
		}
		pl, kind, err := m3u8.DecodeFrom(strings.NewReader(string(body)), true)
		if err != nil || kind != m3u8.MASTER {
			t.Fatalf("master playlist: %v (kind %v):\n%s", err, kind, body)
		}
		vs := pl.(*m3u8.MasterPlaylist).Variants
		if len(vs) != 1 || vs[0].URI != cfg.Rendition+"/index.m3u8" || vs[0].Resolution != "320x180" {
			t.Fatalf("variants %+v, want one %s/index.m3u8 at 320x180", vs, cfg.Rendition)
		}
	})

	now, err := o.Playlist()
	if err != nil {
		t.Fatal(err)
	}
	seg := "/live/" + cfg.Rendition + "/" + now.Segments[len(now.Segments)-1]
	for _, tt := range []struct {
		headers           Headers
		playlist, segment string
	}{
		{HeadersNoCache, "no-cache", "no-cache"},
		{HeadersMaxAge, "max-age=1", "max-age=86400"},
		{HeadersNone, "", ""},
	} {
		t.Run("headers "+string(tt.headers), func(t *testing.T) {
			srv := httptest.NewServer(o.Handler(tt.headers))
			defer srv.Close()
			for _, c := range []struct{ path, ctype, cc string }{
				{MasterPath, "application/vnd.apple.mpegurl", tt.playlist},
				{o.MediaPath(), "application/vnd.apple.mpegurl", tt.playlist},
				{seg, "video/mp2t", tt.segment},
			} {
				res, _ := get(t, srv, c.path)
				if res.StatusCode != 200 {
					t.Fatalf("GET %s: %d", c.path, res.StatusCode)
				}
				if got := res.Header.Get("Content-Type"); got != c.ctype {
					t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.ctype)
				}
				if got, ok := res.Header["Cache-Control"]; strings.Join(got, ",") != c.cc || (c.cc == "" && ok) {
					t.Errorf("GET %s: Cache-Control %q, want %q", c.path, got, c.cc)
				}
				if res.Header.Get("Last-Modified") == "" || res.Header.Get("ETag") == "" {
					t.Errorf("GET %s: no Last-Modified or ETag", c.path)
				}
			}
			// A revalidation of an unchanged segment is answered 304.
			res, _ := get(t, srv, seg)
			if again, _ := get(t, srv, seg, "If-None-Match", res.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
				t.Errorf("revalidating %s answered %d, want 304", seg, again.StatusCode)
			}
		})
	}

	t.Run("only complete media files", func(t *testing.T) {
		srv := httptest.NewServer(o.Handler(HeadersMaxAge))
		defer srv.Close()
		if err := os.WriteFile(filepath.Join(o.Dir(), "live", cfg.Rendition, "999.ts.tmp"), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/live/" + cfg.Rendition + "/999.ts.tmp", "/live/", "/live/" + cfg.Rendition, "/../../etc/passwd", "/live/%2e%2e/%2e%2e/x.ts", "/live/nothing.ts"} {
			if res, _ := get(t, srv, p); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s answered %d, want 404", p, res.StatusCode)
			}
		}
		res, err := srv.Client().Post(srv.URL+MasterPath, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST answered %d, want 405", res.StatusCode)
		}
	})

	t.Run("close", func(t *testing.T) {
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(o.Dir()); !os.IsNotExist(err) {
			t.Errorf("the directory is still there after Close: %v", err)
		}
		select {
		case <-o.done:
		default:
			t.Error("ffmpeg still runs after Close")
		}
		if _, err := o.Wait(ctx, func(Playlist) bool { return false }); err == nil || !strings.Contains(err.Error(), "ffmpeg exited") {
			t.Errorf("Wait after Close: %v, want an error saying ffmpeg exited", err)
		}
		if err := o.Close(); err != nil {
			t.Errorf("a second Close: %v", err)
		}
	})
}

func TestStartFailsClearly(t *testing.T) {
	cfg := testConfig()
	cfg.FFmpeg = "edgeswarm-no-such-ffmpeg"
	if _, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "ffmpeg not found") {
		t.Errorf("Start without ffmpeg: %v, want an error saying ffmpeg is not found", err)
	}
	cfg = testConfig()
	cfg.Width = 321
	if _, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "width") {
		t.Errorf("Start with an odd width: %v, want an error naming width", err)
	}
}

// An encoder that dies is reported by Ready with the end of its log, not
// waited on forever.
func TestReadyReportsFFmpegFailure(t *testing.T) {
	o := startOrigin(t, testConfig())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = o.cmd.Process.Kill()
	if _, err := o.Ready(ctx, 1000); err == nil || !strings.Contains(err.Error(), "ffmpeg exited") {
		t.Errorf("Ready after ffmpeg died: %v, want an error saying ffmpeg exited", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	for _, tt := range []struct {
		key string
		mod func(*Config)
	}{
		{"ffmpeg", func(c *Config) { c.FFmpeg = "" }},
		{"rendition", func(c *Config) { c.Rendition = "../x" }},
		{"width", func(c *Config) { c.Width = 855 }},
		{"height", func(c *Config) { c.Height = 0 }},
		{"frame_rate", func(c *Config) { c.FrameRate = 0 }},
		{"video_bitrate", func(c *Config) { c.VideoBitrate = 1 }},
		{"preset", func(c *Config) { c.Preset = "warp" }},
		{"gop", func(c *Config) { c.GOP = 0 }},
		{"gop", func(c *Config) { c.FrameRate, c.GOP = 30, 1010*time.Millisecond }},
		{"segment_duration", func(c *Config) { c.SegmentDuration = 3 * time.Second }},
		{"segment_duration", func(c *Config) { c.SegmentDuration = 2 * time.Minute }},
		{"window", func(c *Config) { c.Window = 1 }},
		{"audio_rate", func(c *Config) { c.AudioRate = 100 }},
		{"audio_bitrate", func(c *Config) { c.AudioBitrate = 0 }},
	} {
		c := DefaultConfig()
		tt.mod(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), tt.key+":") {
			t.Errorf("%+v: Validate() = %v, want an error naming %s", c, err, tt.key)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	for _, h := range AllHeaders {
		if got, err := ParseHeaders(string(h)); err != nil || got != h {
			t.Errorf("ParseHeaders(%q) = %q, %v", h, got, err)
		}
	}
	if _, err := ParseHeaders("immutable"); err == nil || !strings.Contains(err.Error(), "no-cache, max-age or none") {
		t.Errorf("ParseHeaders(immutable): %v, want an error listing the policies", err)
	}
}
