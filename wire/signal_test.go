package wire

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeRejectsInvalid(t *testing.T) {
	tests := []struct {
		name  string
		msg   Message
		field string // expected in the human message
	}{
		{"nil", nil, "nil"},
		{"join without swarm", &Join{}, "swarm"},
		{"join with a ticket containing a newline", &Join{Swarm: "/a.m3u8", Ticket: "a\nb"}, "ticket"},
		{"welcome with a bad peer id", &Welcome{PeerID: "p/1", Swarm: "/a.m3u8", Config: DefaultClientConfig()}, "peer_id"},
		{"welcome with a zero config", &Welcome{PeerID: "p1", Swarm: "/a.m3u8"}, "config.max_peers"},
		{"peers too many", &Peers{Peers: make([]PeerInfo, MaxPeersPerMessage+1)}, "peers"},
		{"relay without a destination", &Relay{Session: "a", Kind: KindOffer, SDP: "v=0"}, "to"},
		{"relay offer with a candidate", &Relay{To: "p1", Session: "a", Kind: KindOffer, SDP: "v=0", Candidate: "candidate:1"}, "candidate"},
		{"relay sdp too long", &Relay{To: "p1", Session: "a", Kind: KindAnswer, SDP: strings.Repeat("a", MaxSDPLen+1)}, "sdp"},
		{"relay negative mline", &Relay{To: "p1", Session: "a", Kind: KindCandidate, SDPMLineIndex: ptr(-1)}, "sdp_mline_index"},
		{"have unsorted", &Have{Ranges: []SeqRange{{10, 12}, {1, 2}}}, "ranges[1]"},
		{"digest seq too big", &Digest{Segments: []SegmentDigest{{Key: "/a.ts", Seq: ptr[uint64](MaxSequence + 1), Size: 1, SHA256: sha1}}}, "seq"},
		{"digest size too big", &Digest{Segments: []SegmentDigest{{Key: "/a.ts", Size: MaxSegmentSize + 1, SHA256: sha1}}}, "size"},
		{"digest query too many", &DigestQuery{Keys: make([]string, MaxQueryKeys+1)}, "keys"},
		{"stats counter too big", &Stats{P2PBytes: MaxCounter + 1}, "p2p_bytes"},
		{"report bad reason", &Report{Peer: "p1", Reason: "Digest"}, "reason"},
		{"error message too long", &Error{Code: CodeInternal, Message: strings.Repeat("x", MaxErrorMessageLen+1)}, "message"},
		{"error message not UTF-8", &Error{Code: CodeInternal, Message: "\xff"}, "message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(tt.msg)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeBadRequest {
				t.Fatalf("Encode = %q, %v; want a bad_request *Error", b, err)
			}
			if !strings.Contains(e.Message, tt.field) {
				t.Errorf("message %q does not name %q", e.Message, tt.field)
			}
		})
	}
}

func TestEncodeTooLarge(t *testing.T) {
	d := &Digest{}
	for i := range MaxDigestsPerMessage {
		key := "/" + strings.Repeat("k", MaxKeyLen-8) + string(rune('a'+i%26))
		d.Segments = append(d.Segments, SegmentDigest{Key: key, Size: 1, SHA256: sha1})
	}
	_, err := Encode(d)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeTooLarge {
		t.Fatalf("Encode of a %d-key digest = %v, want too_large (senders must split)", len(d.Segments), err)
	}
}

// A realistic offer of MaxSDPLen bytes (CRLF lines, escaped in JSON) fits.
func TestLargestOfferFits(t *testing.T) {
	var sdp strings.Builder
	for sdp.Len() < MaxSDPLen-80 {
		sdp.WriteString("a=candidate:1467250027 1 udp 2122260223 192.0.2.10 46243 typ host generation 0\r\n")
	}
	s := sdp.String()
	s += strings.Repeat("x", MaxSDPLen-len(s))
	m := &Relay{To: "p1234567890abcde"[:MaxPeerIDLen], Session: strings.Repeat("s", MaxSessionIDLen), Kind: KindOffer, SDP: s}
	b, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode of a %d-byte offer: %v", len(s), err)
	}
	got, err := DecodeFromClient(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.(*Relay).SDP != s {
		t.Fatal("SDP changed in transit")
	}
}

func TestSenders(t *testing.T) {
	for _, tt := range []struct {
		typ  Type
		want Side
	}{
		{TypeJoin, Client}, {TypeLeave, Client}, {TypeHave, Client}, {TypeStats, Client},
		{TypeReport, Client}, {TypeDigestQuery, Client},
		{TypeWelcome, Server}, {TypePeers, Server}, {TypePeerLeft, Server}, {TypeDigest, Server}, {TypeError, Server},
		{TypeRelay, Client | Server}, {"nope", 0},
	} {
		if got := tt.typ.Sender(); got != tt.want {
			t.Errorf("%s.Sender() = %d, want %d", tt.typ, got, tt.want)
		}
		if m := newMessage(tt.typ); m != nil && m.Type() != tt.typ {
			t.Errorf("newMessage(%s).Type() = %s", tt.typ, m.Type())
		}
	}
}

// The server forwards a client's relay by swapping to for from.
func TestRelayForwarding(t *testing.T) {
	in, err := DecodeFromClient([]byte(`{"v":1,"type":"relay","to":"p2","session":"x1","kind":"candidate","candidate":"candidate:1 1 udp 1 192.0.2.1 9 typ host","sdp_mid":"0","sdp_mline_index":0}`))
	if err != nil {
		t.Fatal(err)
	}
	r := *in.(*Relay)
	r.From, r.To = "p1", ""
	b, err := Encode(&r)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeFromServer(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*Relay); got.From != "p1" || got.Candidate != r.Candidate || *got.SDPMid != "0" || *got.SDPMLineIndex != 0 {
		t.Errorf("forwarded relay = %+v", got)
	}
}

func TestErrorfTruncatesOnRuneBoundary(t *testing.T) {
	e := Errorf(CodeBadRequest, "%s", strings.Repeat("é", MaxErrorMessageLen))
	if len(e.Message) > MaxErrorMessageLen || !utf8.ValidString(e.Message) {
		t.Fatalf("message of %d bytes, valid UTF-8 %v", len(e.Message), utf8.ValidString(e.Message))
	}
	if _, err := Encode(e); err != nil {
		t.Fatalf("a truncated error cannot be sent: %v", err)
	}
	if got := e.Error(); !strings.HasPrefix(got, "bad_request: é") {
		t.Errorf("Error() = %q", got)
	}
}

func TestClientConfigValidate(t *testing.T) {
	c := DefaultClientConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultClientConfig: %v", err)
	}
	tests := []struct {
		field  string
		mutate func(*ClientConfig)
	}{
		{"config.chunk_size", func(c *ClientConfig) { c.ChunkSize = MaxChunkPayload + 1 }},
		{"config.max_inflight", func(c *ClientConfig) { c.MaxInflight = 0 }},
		{"config.stats_interval_ms", func(c *ClientConfig) { c.StatsIntervalMs = 10 }},
		{"config.keep_segments", func(c *ClientConfig) { c.KeepSegments = MaxHaveBits + 1 }},
		{"config.keys.rewrites[0].match", func(c *ClientConfig) { c.Keys.Rewrites = []Rewrite{{Replace: "x"}} }},
		{"config.ice_servers[0].urls", func(c *ClientConfig) { c.ICEServers = []ICEServer{{}} }},
		{"config.ice_servers[0].urls[0]", func(c *ClientConfig) { c.ICEServers = []ICEServer{{URLs: []string{"stun: x"}}} }},
		{"config.ice_servers[0].urls[1]", func(c *ClientConfig) {
			c.ICEServers = []ICEServer{{URLs: []string{"stun:a.example", "https://a.example"}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			c := DefaultClientConfig()
			tt.mutate(&c)
			err := c.Validate()
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, tt.field+":") {
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.field)
			}
		})
	}
}

func TestDecodeErrorsAreSendable(t *testing.T) {
	// Whatever the input, a decoding error is an *Error the server can
	// send back unchanged.
	for _, in := range []string{"", "{", "[]", `{"v":1,"type":"` + strings.Repeat("x", 500) + `"}`, `{"v":1,"type":"join","swarm":7}`} {
		_, err := Decode([]byte(in))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Decode(%q) = %v, want *Error", in, err)
		}
		if _, err := Encode(e); err != nil {
			t.Errorf("Decode(%q) error %q cannot be encoded: %v", in, e.Message, err)
		}
	}
}
