package origin

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
)

const liveTS = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:1204
#EXTINF:6.000,
1204.ts
#EXTINF:6.000,
1205.ts?token=abc
#EXTINF:5.960,
../shared/1206.ts
#EXTINF:6.000,
/abs/1207.ts
`

const vodFMP4 = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.0,
seg0.m4s
#EXTINF:4.0,
seg1.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="ad/init.mp4"
#EXTINF:3.5,
ad/seg0.m4s
#EXT-X-ENDLIST
`

const master = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en/index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",URI="subs/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud",SUBTITLES="subs"
low/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS="avc1.4d401f,mp4a.40.2",AUDIO="aud",SUBTITLES="subs"
mid/index.m3u8?v=2
#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080,AUDIO="aud"
http://origin.example:8000/streams/show/high/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=150000,URI="low/iframe.m3u8"
`

const llhls = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:4
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=24.0
#EXT-X-PART-INF:PART-TARGET=0.33334
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-SKIP:SKIPPED-SEGMENTS=3
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.00008,
fileSequence269.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart270.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="filePart270.1.mp4"
#EXTINF:4.00008,
fileSequence270.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart271.0.mp4",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart271.1.mp4"
#EXT-X-RENDITION-REPORT:URI="../1M/waitForMSN.php",LAST-MSN=273,LAST-PART=2
`

const encrypted = `#EXTM3U
#EXT-X-TARGETDURATION:10
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/k1",IV=0x1
#EXTINF:10,
7.ts
#EXT-X-KEY:METHOD=AES-128,URI="key2.key"
#EXTINF:10,
8.ts
#EXT-X-BYTERANGE:1000@0
#EXTINF:10,
all.ts
#EXT-X-BYTERANGE:1000@1000
#EXTINF:10,
all.ts
#EXTINF:10,
https://other.example.com/9.ts
#EXTINF:10,
data:video/mp2t;base64,AAAA
#EXTINF:10,
//origin.example:8000/streams/show/low/10.ts
`

// testMapper maps http://origin.example:8000/streams/ to /tv/.
func testMapper(scheme, host, path string) (string, bool) {
	if host != "origin.example:8000" || scheme == "https" || !strings.HasPrefix(path, "/streams/") {
		return "", false
	}
	return "/tv/" + strings.TrimPrefix(path, "/streams/"), true
}

func TestParsePlaylist(t *testing.T) {
	tests := []struct {
		name string
		path string
		body string
		want PlaylistInfo
	}{
		{"live ts", "/live/low/index.m3u8", liveTS, PlaylistInfo{
			Kind: cache.KindLivePlaylist, TargetDuration: 6 * time.Second, MediaSequence: 1204,
			Segments: []string{"/live/low/1204.ts", "/live/low/1205.ts?token=abc", "/live/shared/1206.ts", "/abs/1207.ts"},
		}},
		{"vod fmp4", "/vod/movie/index.m3u8", vodFMP4, PlaylistInfo{
			Kind: cache.KindVODPlaylist, TargetDuration: 4 * time.Second,
			Segments: []string{"/vod/movie/seg0.m4s", "/vod/movie/seg1.m4s", "/vod/movie/ad/seg0.m4s"},
			Init:     []string{"/vod/movie/init.mp4", "/vod/movie/ad/init.mp4"},
		}},
		{"master", "/tv/show/master.m3u8", master, PlaylistInfo{
			Kind: cache.KindMasterPlaylist,
			Variants: []string{"/tv/show/audio/en/index.m3u8", "/tv/show/subs/en.m3u8", "/tv/show/low/index.m3u8",
				"/tv/show/mid/index.m3u8?v=2", "/tv/show/high/index.m3u8", "/tv/show/low/iframe.m3u8"},
		}},
		{"ll-hls delta update", "/ll/a/index.m3u8", llhls, PlaylistInfo{
			Kind: cache.KindLivePlaylist, TargetDuration: 4 * time.Second, PartTarget: 333340 * time.Microsecond,
			MediaSequence: 269,
			Segments:      []string{"/ll/a/fileSequence269.mp4", "/ll/a/fileSequence270.mp4"},
			Init:          []string{"/ll/a/init.mp4"},
			Parts:         []string{"/ll/a/filePart270.0.mp4", "/ll/a/filePart270.1.mp4", "/ll/a/filePart271.0.mp4", "/ll/a/filePart271.1.mp4"},
			LL: LowLatency{
				CanBlockReload: true, CanSkipUntil: 24 * time.Second, PartHoldBack: time.Second, Skipped: 3,
				Parts: []Part{
					{URI: "/ll/a/filePart270.0.mp4", Duration: 333340 * time.Microsecond, Independent: true, MSN: 270, Index: 0},
					{URI: "/ll/a/filePart270.1.mp4", Duration: 333340 * time.Microsecond, MSN: 270, Index: 1},
					{URI: "/ll/a/filePart271.0.mp4", Duration: 333340 * time.Microsecond, Independent: true, MSN: 271, Index: 0},
				},
				Hints:   []PreloadHint{{Type: "PART", URI: "/ll/a/filePart271.1.mp4", MSN: 271, Index: 1}},
				Reports: []RenditionReport{{URI: "/ll/1M/waitForMSN.php", LastMSN: 273, LastPart: 2}},
			},
		}},
		{"keys never listed, foreign URIs skipped", "/tv/show/low/index.m3u8", encrypted, PlaylistInfo{
			Kind: cache.KindLivePlaylist, TargetDuration: 10 * time.Second, MediaSequence: 7,
			Segments: []string{"/tv/show/low/7.ts", "/tv/show/low/8.ts", "/tv/show/low/all.ts", "/tv/show/low/all.ts", "/tv/show/low/10.ts"},
		}},
		{"event playlist is live", "/e/i.m3u8", "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n", PlaylistInfo{
			Kind: cache.KindLivePlaylist, TargetDuration: 2 * time.Second, Segments: []string{"/e/a.ts"},
		}},
		{"CRLF, BOM and dot segments", "/a/b/i.m3u8", "\ufeff#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n#EXTINF:2,\r\n./x/../../../../y.ts\r\n#EXT-X-ENDLIST\r\n", PlaylistInfo{
			Kind: cache.KindVODPlaylist, TargetDuration: 2 * time.Second, Segments: []string{"/y.ts"},
		}},
		{"empty live playlist", "/a/i.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:6\n", PlaylistInfo{
			Kind: cache.KindLivePlaylist, TargetDuration: 6 * time.Second, Segments: []string{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePlaylistWith(tt.path, []byte(tt.body), testMapper)
			if err != nil {
				t.Fatalf("ParsePlaylistWith: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParsePlaylistAbsoluteWithoutMapper(t *testing.T) {
	got, err := ParsePlaylist("/tv/show/master.m3u8", []byte(master))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range got.Variants {
		if strings.Contains(v, "high") {
			t.Errorf("absolute URI %q kept without a mapper", v)
		}
	}
}

func TestParsePlaylistErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty", "", "playlist: empty"},
		{"html", "<html>gateway error</html>", "playlist: does not start with #EXTM3U"},
		{"no type", "#EXTM3U\n#EXT-X-VERSION:3\n", "playlist: neither a master nor a media playlist"},
		{"stream-inf in a media playlist", "#EXTM3U\n#EXTINF:2,\na.ts\n#EXT-X-STREAM-INF:BANDWIDTH=1\nb.m3u8\n", "playlist: mixes master and media playlist tags"},
		{"mixed", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n#EXTINF:2,\na.ts\n", "playlist: mixes master and media playlist tags"},
		{"bad skip", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-SKIP:SKIPPED-SEGMENTS=x\n", `playlist: EXT-X-SKIP: bad SKIPPED-SEGMENTS "x"`},
		{"bad target duration", "#EXTM3U\n#EXT-X-TARGETDURATION:six\n", `playlist: bad EXT-X-TARGETDURATION "six"`},
		{"bad part target", "#EXTM3U\n#EXT-X-PART-INF:PART-TARGET=abc\n", `playlist: EXT-X-PART-INF: bad PART-TARGET "abc"`},
		{"bad hold back", "#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=x\n", `playlist: EXT-X-SERVER-CONTROL: bad PART-HOLD-BACK "x"`},
		{"part without uri", "#EXTM3U\n#EXT-X-PART:DURATION=1\n", "playlist: EXT-X-PART without URI"},
		{"part without duration", "#EXTM3U\n#EXT-X-PART:URI=\"a.mp4\"\n", "playlist: EXT-X-PART without DURATION"},
		{"bad part duration", "#EXTM3U\n#EXT-X-PART:DURATION=a,URI=\"a.mp4\"\n", `playlist: EXT-X-PART: bad DURATION "a"`},
		{"bad hint type", "#EXTM3U\n#EXT-X-PRELOAD-HINT:TYPE=SEGMENT,URI=\"a.mp4\"\n", `playlist: EXT-X-PRELOAD-HINT: bad TYPE "SEGMENT"`},
		{"report without uri", "#EXTM3U\n#EXT-X-RENDITION-REPORT:LAST-MSN=1\n", "playlist: EXT-X-RENDITION-REPORT without URI"},
		{"bad report msn", "#EXTM3U\n#EXT-X-RENDITION-REPORT:URI=\"b.m3u8\",LAST-MSN=-1\n", `playlist: EXT-X-RENDITION-REPORT: bad LAST-MSN "-1"`},
		{"bad report part", "#EXTM3U\n#EXT-X-RENDITION-REPORT:URI=\"b.m3u8\",LAST-PART=x\n", `playlist: EXT-X-RENDITION-REPORT: bad LAST-PART "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePlaylist("/a/i.m3u8", []byte(tt.body))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestPlaylistHas checks when a blocking reload for a part can be answered
// by a playlist: the parts of the segment in progress, and every part of a
// complete segment.
func TestPlaylistHas(t *testing.T) {
	info, err := ParsePlaylist("/ll/a/index.m3u8", []byte(llhls))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		msn  uint64
		part int
		want bool
	}{
		{269, -1, true}, {270, -1, true}, {270, 5, true}, {271, -1, false},
		{271, 0, true}, {271, 1, false}, {272, 0, false}, {1, -1, true},
	} {
		if got := info.Has(tt.msn, tt.part); got != tt.want {
			t.Errorf("Has(%d, %d) = %v, want %v", tt.msn, tt.part, got, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	r := resolver{base: "/live/low/index.m3u8", mapURL: testMapper}
	tests := []struct {
		uri, want string
		ok        bool
	}{
		{"12.ts", "/live/low/12.ts", true},
		{"../x/1.ts", "/live/x/1.ts", true},
		{"/abs/1.ts", "/abs/1.ts", true},
		{"a/./b/../c.ts?q=1#frag", "/live/low/a/c.ts?q=1", true},
		{"../../../../etc/passwd", "/etc/passwd", true},
		{"http://origin.example:8000/streams/a/1.ts?t=2", "/tv/a/1.ts?t=2", true},
		{"HTTP://origin.example:8000/streams/a/1.ts", "/tv/a/1.ts", true},
		{"http://origin.example:8000/streams/a/../x.ts", "/tv/x.ts", true},
		{"http://origin.example:8000/streams/a/../../x.ts", "", false},
		{"http://evil.example/streams/a/1.ts", "", false},
		{"https://origin.example:8000/streams/a/1.ts", "", false},
		{"skd://key-id", "", false},
		{"data:text/plain,x", "", false},
		{"", "", false},
		{"#only-fragment", "", false},
		{"a:b.ts", "", false}, // a scheme, not a relative path
		{"./a:b.ts", "/live/low/a:b.ts", true},
	}
	for _, tt := range tests {
		got, ok := r.resolve(tt.uri)
		if got != tt.want || ok != tt.ok {
			t.Errorf("resolve(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParsePlaylist(f *testing.F) {
	for _, s := range []string{liveTS, vodFMP4, master, llhls, encrypted, "", "#EXTM3U\n",
		"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\nx.ts\n",
		"#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\"\nx.ts\n",
		"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n",
		"#EXTM3U\n#EXTINF:1,\n#EXTINF:1,\na.ts\n",
		"#EXTM3U\n#EXT-X-PART:URI=\"a\n#EXT-X-START:TIME-OFFSET=x\n",
	} {
		f.Add("/live/low/index.m3u8", []byte(s))
	}
	if seeds, err := filepath.Glob(filepath.Join("testdata", "playlists", "*.m3u8")); err == nil {
		for _, p := range seeds {
			if b, err := os.ReadFile(p); err == nil {
				f.Add("/x/y.m3u8", b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		info, err := ParsePlaylistWith(path, body, testMapper)
		if err != nil {
			return
		}
		if !info.Kind.IsPlaylist() {
			t.Fatalf("kind %v is not a playlist", info.Kind)
		}
		for _, p := range info.LL.Parts {
			if p.Index < 0 || p.MSN < info.MediaSequence || !strings.HasPrefix(p.URI, "/") {
				t.Fatalf("part %+v of a playlist from %d", p, info.MediaSequence)
			}
		}
		if len(info.Segments) > 0 && !info.Has(info.MediaSequence+uint64(len(info.Segments))-1, -1) {
			t.Fatal("a playlist does not have its own last segment")
		}
		for _, list := range [][]string{info.Segments, info.Init, info.Parts, info.Variants} {
			for _, u := range list {
				if !strings.HasPrefix(u, "/") {
					t.Fatalf("URI %q is not a public path", u)
				}
				p, _, _ := strings.Cut(u, "?")
				if hasDotSegment(p) {
					t.Fatalf("URI %q keeps a dot segment", u)
				}
			}
		}
	})
}
