package wire

import (
	"fmt"
	"reflect"
	"testing"
)

// FuzzDecodeFromClientInto: decoding into a reused Stats, after any
// other message went into it, gives what DecodeFromClient gives: the same
// message or the same error. A stats message it takes lands in st itself.
func FuzzDecodeFromClientInto(f *testing.F) {
	full := `{"v":1,"type":"stats","http_bytes":4194304,"p2p_bytes":12582912,"peers":4,"startup_ms":412,"browser":"chrome","browser_major":131,"webrtc":true,"upload":true,"group":"p2p","stream":"/live/channel1/master.m3u8","swarm":"/live/channel1/720p.m3u8","session":"s1","errors":{"http":2,"peer":1}}`
	for _, s := range [][2]string{
		{full, full},
		{full, `{"v":1,"type":"stats","browser":"firefox","group":"holdback"}`},
		{full, `{"v":1,"type":"stats"}`},
		{full, `{"v":1,"type":"stats","peers":4096}`},
		{full, `{"v":1,"type":"stats","browser":"Chrome"}`},
		{full, `{"v":1,"type":"stats","browser":"chr\u006fme"}`},
		{full, `{"v":1,"type":"join","swarm":"/a.m3u8"}`},
		{`{"v":1,"type":"leave"}`, full},
		{full, `{"v":1,"type":"stats","http_bytes":1.5}`},
		{full, `{"v":1,"type":"stats","x":1}`},
		{full, `{"v":1,"type":"stats","peers":1,"peers":2}`},
		{"", full},
		{full, "{\"v\":1,\"type\":\"stats\",\"browser\":\"\xff\"}"},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, before, data []byte) {
		var st Stats
		_, _ = DecodeFromClientInto(before, &st)
		got, gotErr := DecodeFromClientInto(data, &st)
		want, wantErr := DecodeFromClient(data)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q after %q: into %#v, %v; DecodeFromClient %#v, %v", data, before, got, gotErr, want, wantErr)
		}
		if m, ok := got.(*Stats); ok && m != &st && decodeStatsStrict(data, new(Stats)) {
			t.Fatalf("%q: a one-pass stats message did not land in st", data)
		}
	})
}

// A viewer's report decoded into the Stats of its previous report
// allocates nothing: no message, no strings.
func TestDecodeFromClientIntoAllocs(t *testing.T) {
	st := Stats{HTTPBytes: 300_000, P2PBytes: 600_000, Peers: 4, StartupMs: 412, Bitrate: 2_500_000, Browser: "chrome", BrowserMajor: 131,
		WebRTC: true, Upload: true, Group: GroupP2P, Stream: "/live/c1/master.m3u8", Swarm: "/live/c1/720p.m3u8"}
	data, err := Encode(&st)
	if err != nil {
		t.Fatal(err)
	}
	var into Stats
	if _, err := DecodeFromClientInto(data, &into); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if m, err := DecodeFromClientInto(data, &into); err != nil || m != &into {
			t.Fatalf("%v %v", m, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per report, want 0", allocs)
	}
	if into != st {
		t.Fatalf("decoded %+v, want %+v", into, st)
	}
}
